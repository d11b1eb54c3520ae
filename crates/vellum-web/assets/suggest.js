// Vellum: title suggestions for the header's search box, page
// suggestions after "[[" in the editor and in comments, and user names
// after "@" in comments. Everything works without this script; it only
// saves typing. Suggestions come from /api/v1/search/titles, which only
// returns pages the reader may read, and /api/v1/mentions.
(function () {
  "use strict";
  var DELAY = 120;

  function fetchTitles(q, limit, done) {
    var url = "/api/v1/search/titles?limit=" + limit + "&q=" + encodeURIComponent(q);
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : { items: [] }; })
      .then(function (body) { done(body.items || []); })
      .catch(function () { done([]); });
  }

  // The header box: a datalist of page paths, labelled by title.
  function searchBox(input) {
    var list = document.getElementById(input.getAttribute("list"));
    if (!list) return;
    var timer = null, last = "";
    input.addEventListener("input", function () {
      var q = input.value.trim();
      clearTimeout(timer);
      if (q.length < 2 || q === last) return;
      timer = setTimeout(function () {
        last = q;
        fetchTitles(q, 8, function (items) {
          list.textContent = "";
          items.forEach(function (it) {
            var o = document.createElement("option");
            o.value = it.path;
            o.label = it.title;
            o.textContent = it.title;
            list.appendChild(o);
          });
        });
      }, DELAY);
    });
  }

  function fetchPeople(q, done) {
    var url = "/api/v1/mentions?q=" + encodeURIComponent(q);
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : { items: [] }; })
      .then(function (body) { done(body.items || []); })
      .catch(function () { done([]); });
  }

  // What a text area completes: after "[[", a page path (the editor and
  // comments); after "@", a user name (comments).
  var LINKS = {
    pattern: /\[\[([^\]|\n]{0,80})$/,
    min: 1,
    fetch: function (q, done) { fetchTitles(q, 8, done); },
    label: function (it) { return it.title + " — " + it.path; },
    text: function (it) { return it.path + "]]"; },
    rest: /^[^\]\n]*\]\]/
  };
  var MENTIONS = {
    pattern: /(?:^|[\s(\[{,;:!])@([A-Za-z0-9_.-]{0,40})$/,
    min: 0,
    fetch: fetchPeople,
    label: function (it) { return it.display_name + " — @" + it.username; },
    text: function (it) { return it.username + " "; },
    rest: /^[A-Za-z0-9_.-]*/
  };

  // A list under the text area; arrows choose, Enter, Tab or a click inserts.
  function suggestBox(area, sources) {
    var box = document.createElement("ul");
    box.className = "v-linksuggest";
    box.setAttribute("role", "listbox");
    box.hidden = true;
    area.parentNode.insertBefore(box, area.nextSibling);
    var items = [], active = 0, start = -1, timer = null, source = null;

    function close() { box.hidden = true; items = []; start = -1; }
    function show() {
      box.textContent = "";
      items.forEach(function (it, i) {
        var li = document.createElement("li");
        li.setAttribute("role", "option");
        li.className = i === active ? "v-active" : "";
        li.textContent = source.label(it);
        li.addEventListener("mousedown", function (e) { e.preventDefault(); pick(i); });
        box.appendChild(li);
      });
      box.hidden = items.length === 0;
    }
    function pick(i) {
      var it = items[i];
      if (!it || start < 0) return close();
      var before = area.value.slice(0, start), after = area.value.slice(area.selectionStart);
      var text = source.text(it);
      area.value = before + text + after.replace(source.rest, "");
      var caret = before.length + text.length;
      area.setSelectionRange(caret, caret);
      close();
      area.focus();
    }
    area.addEventListener("input", function () {
      var upto = area.value.slice(0, area.selectionStart);
      clearTimeout(timer);
      var m = null;
      for (var k = 0; k < sources.length && !m; k++) {
        m = sources[k].pattern.exec(upto);
        if (m) source = sources[k];
      }
      if (!m) return close();
      start = upto.length - m[1].length;
      var q = m[1];
      if (q.trim().length < source.min) return close();
      var asked = source;
      timer = setTimeout(function () {
        asked.fetch(q, function (found) { if (asked === source) { items = found; active = 0; show(); } });
      }, DELAY);
    });
    area.addEventListener("keydown", function (e) {
      if (box.hidden) return;
      if (e.key === "ArrowDown") { active = (active + 1) % items.length; show(); e.preventDefault(); }
      else if (e.key === "ArrowUp") { active = (active + items.length - 1) % items.length; show(); e.preventDefault(); }
      else if (e.key === "Enter" || e.key === "Tab") { pick(active); e.preventDefault(); }
      else if (e.key === "Escape") { close(); e.preventDefault(); }
    });
    area.addEventListener("blur", function () { setTimeout(close, 150); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("input[data-suggest]").forEach(searchBox);
    document.querySelectorAll("textarea[data-link-suggest], textarea[data-mention-suggest]").forEach(function (area) {
      var sources = [];
      if (area.hasAttribute("data-link-suggest")) sources.push(LINKS);
      if (area.hasAttribute("data-mention-suggest")) sources.push(MENTIONS);
      suggestBox(area, sources);
    });
  });
})();
