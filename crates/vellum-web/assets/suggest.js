// Vellum: title suggestions for the header's search box, page
// suggestions after "[[" in the editor and in comments, user names after
// "@" in comments, and files dropped on or pasted into the editor. Everything works without this script; it only
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

  // Files dropped on, or pasted into, the editor: uploaded to the page's
  // files, and a file: reference put where the text cursor is. Without
  // this script the page's Files view uploads the same way.
  function uploads(area) {
    var url = area.getAttribute("data-upload-url");
    var status = document.createElement("p");
    status.className = "v-hint v-upload-status";
    status.setAttribute("aria-live", "polite");
    area.parentNode.insertBefore(status, area.nextSibling);

    function ref(name) {
      return name.replace(/%/g, "%25").replace(/ /g, "%20").replace(/\(/g, "%28").replace(/\)/g, "%29");
    }
    function named(file) {
      if (file.name && file.name !== "image.png") return file.name;
      var d = new Date(), pad = function (n) { return (n < 10 ? "0" : "") + n; };
      var ext = (file.type.split("/")[1] || "bin").replace("jpeg", "jpg").replace("svg+xml", "svg");
      return "pasted-" + d.getFullYear() + pad(d.getMonth() + 1) + pad(d.getDate()) + "-" +
        pad(d.getHours()) + pad(d.getMinutes()) + pad(d.getSeconds()) + "." + ext;
    }
    function send(file) {
      var name = named(file);
      var marker = "![Uploading " + name + "…]()";
      var at = area.selectionStart;
      area.value = area.value.slice(0, at) + marker + area.value.slice(area.selectionEnd);
      status.textContent = "Uploading " + name + "…";
      fetch(url + "?name=" + encodeURIComponent(name), {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/octet-stream", Accept: "application/json" },
        body: file
      })
        .then(function (r) { return r.json().then(function (body) { return { ok: r.ok, body: body }; }); })
        .then(function (res) {
          var text = "";
          if (res.ok) {
            var f = res.body;
            text = (f.content_type.indexOf("image/") === 0 ? "![" + f.name + "]" : "[" + f.name + "]") + "(file:" + ref(f.name) + ")";
            status.textContent = f.name + " is uploaded (version " + f.version + ").";
          } else {
            status.textContent = (res.body.error && res.body.error.message) || "The upload failed.";
          }
          area.value = area.value.replace(marker, text);
        })
        .catch(function () {
          area.value = area.value.replace(marker, "");
          status.textContent = "The upload failed: the wiki could not be reached.";
        });
    }
    area.addEventListener("dragover", function (e) {
      if (e.dataTransfer && Array.prototype.indexOf.call(e.dataTransfer.types, "Files") >= 0) e.preventDefault();
    });
    area.addEventListener("drop", function (e) {
      var files = e.dataTransfer && e.dataTransfer.files;
      if (!files || !files.length) return;
      e.preventDefault();
      Array.prototype.forEach.call(files, send);
    });
    area.addEventListener("paste", function (e) {
      var files = e.clipboardData && e.clipboardData.files;
      if (!files || !files.length) return;
      e.preventDefault();
      Array.prototype.forEach.call(files, send);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("input[data-suggest]").forEach(searchBox);
    document.querySelectorAll("textarea[data-upload-url]").forEach(uploads);
    document.querySelectorAll("textarea[data-link-suggest], textarea[data-mention-suggest]").forEach(function (area) {
      var sources = [];
      if (area.hasAttribute("data-link-suggest")) sources.push(LINKS);
      if (area.hasAttribute("data-mention-suggest")) sources.push(MENTIONS);
      suggestBox(area, sources);
    });
  });
})();
