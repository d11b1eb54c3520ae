// Browser tests: a real `vellum serve` on a free loopback port and headless
// Chromium clicking through the wiki as a newcomer would, without any
// JavaScript of ours (the pages are server-rendered forms and links).
//
//   VELLUM_BIN=target/debug/vellum node e2e/run.mjs sqlite|postgres
//
// With SCREENSHOTS=1 it also saves PNGs of each screen in e2e/screenshots/.
import { spawn, execFileSync } from "node:child_process";
import { createHmac } from "node:crypto";
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const backend = process.argv[2] ?? "sqlite";
const bin = process.env.VELLUM_BIN ?? "target/debug/vellum";
const shots = process.env.SCREENSHOTS === "1";
const shotDir = join(dirname(fileURLToPath(import.meta.url)), "screenshots");
const results = { passed: 0, failed: 0 };

// Distinct free ports: every listener is held until all are open, so the
// system cannot hand out one port twice (taken and released one after the
// other, the OpenID provider, started first, could get the wiki's port).
async function freePorts(n) {
  const servers = [];
  try {
    for (let i = 0; i < n; i++) {
      const srv = createServer();
      await new Promise((resolve, reject) => {
        srv.on("error", reject);
        srv.listen(0, "127.0.0.1", resolve);
      });
      servers.push(srv);
    }
    return servers.map((srv) => srv.address().port);
  } finally {
    await Promise.all(servers.map((srv) => new Promise((resolve) => srv.close(resolve))));
  }
}

function check(name, ok, detail = "") {
  if (ok) {
    results.passed++;
    console.log(`  ok   ${name}`);
  } else {
    results.failed++;
    console.log(`  FAIL ${name} ${detail}`);
  }
}

// Runs one named step of the walkthrough. A step that throws is reported
// as failed and the walkthrough goes on with the next one, so one failure
// does not hide the rest.
async function step(name, body) {
  console.log(`- ${name}`);
  try {
    await body();
  } catch (e) {
    check(`${name}: ran to the end`, false, e.stack);
  }
}

const dataDir = mkdtempSync(join(tmpdir(), "vellum-e2e-"));
let databaseUrl = `sqlite://${dataDir}/vellum.db`;
let pgName = null;
// The PostgreSQL server comes from VELLUM_TEST_PG_URL, as for the other tests.
const pgAdmin = process.env.VELLUM_TEST_PG_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const psql = (sql) => execFileSync("psql", [pgAdmin, "-qc", sql]);
if (backend === "postgres") {
  pgName = `vellum_e2e_${process.pid}`;
  psql(`DROP DATABASE IF EXISTS ${pgName}`);
  psql(`CREATE DATABASE ${pgName}`);
  databaseUrl = `${pgAdmin.replace(/\/[^/]*$/, "")}/${pgName}`;
}

const [port, oidcPort] = await freePorts(2);
const base = `http://127.0.0.1:${port}`;

// A real OpenID provider beside the wiki, for the single sign-on step.
const oidcAccounts = join(dataDir, "oidc-accounts.json");
writeFileSync(oidcAccounts, JSON.stringify({ sam: { name: "Sam Okafor", email: "sam@example.test", groups: ["writers"] } }));
const provider = spawn("node", [join(dirname(fileURLToPath(import.meta.url)), "oidc-provider.mjs"), String(oidcPort), `${base}/login/sso/callback`], {
  stdio: ["ignore", "pipe", "ignore"],
  env: { ...process.env, OIDC_ACCOUNTS_FILE: oidcAccounts },
});
await new Promise((resolve, reject) => {
  provider.stdout.on("data", (d) => String(d).includes("ready") && resolve());
  provider.once("exit", (code) => reject(new Error(`the OpenID provider exited (${code})`)));
});
const configFile = join(dataDir, "vellum.toml");
writeFileSync(configFile, `public_url = "${base}"

[oidc]
issuer = "http://127.0.0.1:${oidcPort}"
client_id = "vellum"
label = "Example ID"
scopes = ["profile", "email", "groups"]

[oidc.roles]
writers = "editor"
`);

const server = spawn(bin, ["serve", "--config", configFile, "--listen", `127.0.0.1:${port}`, "--data-dir", dataDir, "--database-url", databaseUrl], {
  stdio: ["ignore", "pipe", "pipe"],
  env: { ...process.env, VELLUM_OIDC_CLIENT_SECRET: "vellum-test-secret" },
});
let console_ = "";
server.stderr.on("data", (d) => (console_ += d));
server.stdout.on("data", (d) => (console_ += d));
const setupLink = await new Promise((resolve, reject) => {
  const started = Date.now();
  const poll = setInterval(() => {
    const m = console_.match(/(http:\/\/\S+\/setup\?token=[0-9a-f]+)/);
    if (m) {
      clearInterval(poll);
      resolve(m[1]);
    } else if (Date.now() - started > 30000 || server.exitCode !== null) {
      clearInterval(poll);
      reject(new Error(`no setup link printed:\n${console_}`));
    }
  }, 100);
});

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync"],
});
const page = await browser.newPage({ viewport: { width: 1280, height: 860 }, javaScriptEnabled: false });
async function shot(name) {
  if (shots) {
    mkdirSync(shotDir, { recursive: true });
    await page.screenshot({ path: join(shotDir, `${backend}-${name}.png`), fullPage: true });
  }
}
// The code an authenticator app would show now for a base32 secret
// (RFC 6238: HMAC-SHA1, 30-second steps, 6 digits).
function totpCode(secret) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const ch of secret.replace(/[\s=]/g, "").toUpperCase()) bits += alphabet.indexOf(ch).toString(2).padStart(5, "0");
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 30000)));
  const mac = createHmac("sha1", key).update(counter).digest();
  const at = mac[mac.length - 1] & 0xf;
  return String((mac.readUInt32BE(at) & 0x7fffffff) % 1000000).padStart(6, "0");
}

async function save(title, markdown, summary = "", tags = null) {
  await page.fill("input[name=title]", title);
  await page.fill("textarea[name=markdown]", markdown);
  await page.fill("input[name=summary]", summary);
  if (tags !== null) await page.fill("input[name=tags]", tags);
  await Promise.all([page.waitForNavigation(), page.click("button[value=save]")]);
}

console.log(`browser tests on ${backend}`);
try {
  await step("first run: the console link creates the administrator", async () => {
    await page.goto(setupLink);
    await shot("setup");
    await page.fill("input[name=username]", "admin");
    await page.fill("input[name=display_name]", "Ada Admin");
    await page.fill("input[name=password]", "correct horse battery");
    await page.fill("input[name=password_again]", "correct horse battery");
    await Promise.all([page.waitForNavigation(), page.click("button")]);
    check("setup signs the administrator in on the welcome page", page.url() === `${base}/wiki/home`, page.url());
    check("welcome page is titled", (await page.textContent("h1")) === "Welcome to Vellum");
    await shot("home");
  });

  await step("a folder of pages that link to each other", async () => {
    await page.goto(`${base}/wiki/engineering/overview/-/edit`);
    await shot("create");
    await save("Engineering overview", "# Overview\n\nStart with [[engineering/deploy|the deploy runbook]].\n\n## Teams\n\n- platform\n- product\n", "first draft", "engineering, overview");
    check("new page is shown after saving", page.url() === `${base}/wiki/engineering/overview`, page.url());
    check("link to a missing page is marked", (await page.locator("a.wikilink.missing").count()) === 1);
    await Promise.all([page.waitForNavigation(), page.click("a.wikilink.missing")]);
    check("a missing page offers to create it", (await page.locator("text=Create this page").count()) === 1);
    await Promise.all([page.waitForNavigation(), page.click("text=Create this page")]);
    await save("Deploy", "# Deploy\n\n1. Build\n2. Ship\n\nBack to [[engineering/overview]].\n\n```sh\nmake deploy --force\n```\n", "steps", "ops");
    await page.goto(`${base}/wiki/engineering/overview`);
    check("the link is no longer missing once the page exists", (await page.locator("a.wikilink.missing").count()) === 0);
  });

  await step("edit twice, then history, diff and revert", async () => {
    await page.goto(`${base}/wiki/engineering/deploy/-/edit`);
    await save("Deploy", "# Deploy\n\n1. Build\n2. Test\n3. Ship\n\nBack to [[engineering/overview]].\n\n```sh\nmake deploy --force\n```\n", "add testing");
    await page.goto(`${base}/wiki/engineering/deploy/-/edit`);
    await save("Deploy", "# Deploy\n\n1. Build\n2. Test\n3. Ship carefully\n\nBack to [[engineering/overview]].\n\n```sh\nmake deploy --force\n```\n", "be careful");
    await shot("page");
    check("syntax highlighting classes are present", (await page.locator("pre code span").count()) > 0);
    check("the page shows its own revision number", (await page.locator("a:has-text('revision 3')").count()) === 1);
    await page.goto(`${base}/wiki/engineering/deploy/-/history`);
    const rows = await page.locator("table.v-table tbody tr").count();
    check("history lists three revisions", rows === 3, `rows=${rows}`);
    await shot("history");
    await Promise.all([page.waitForNavigation(), page.click("text=Compare selected revisions")]);
    check("diff highlights the changed word", (await page.locator("table.v-diff mark").count()) > 0);
    await shot("diff");
    await Promise.all([page.waitForNavigation(), page.click("a:has-text('Revert to revision 2')")]);
    check("revert asks first", (await page.locator("h1:has-text('to revision 2?')").count()) === 1);
    await shot("revert");
    await Promise.all([page.waitForNavigation(), page.click("button:has-text('Revert to revision 2')")]);
    const body = await page.textContent("article");
    check("revert restored the previous text", body.includes("Ship") && !body.includes("Ship carefully"), body);
  });

  await step("move, and follow the old link", async () => {
    await page.goto(`${base}/wiki/engineering/deploy/-/move`);
    await page.fill("input[name=to]", "operations/deploy");
    await Promise.all([page.waitForNavigation(), page.click("button:has-text('Move')")]);
    check("move lands on the new path", page.url() === `${base}/wiki/operations/deploy`, page.url());
    await page.goto(`${base}/wiki/engineering/overview`);
    await Promise.all([page.waitForNavigation(), page.click("a.wikilink")]);
    check("the old link still leads to the page", page.url().startsWith(`${base}/wiki/operations/deploy`), page.url());
    check("the page says where it was redirected from", (await page.locator(".v-note:has-text('Redirected from')").count()) === 1);
  });

  await step("backlinks, tags, recent changes, folders", async () => {
    await page.goto(`${base}/wiki/operations/deploy/-/backlinks`);
    check("backlinks list the linking page", (await page.locator("ul.v-list a:has-text('Engineering overview')").count()) === 1);
    await page.goto(`${base}/tags`);
    check("tags page lists tags with counts", (await page.locator("a.v-tag:has-text('ops')").count()) === 1);
    await shot("tags");
    await page.goto(`${base}/recent`);
    const recent = await page.textContent("table");
    check("recent changes show the move and the edits", recent.includes("moved") && recent.includes("be careful"), recent);
    check("a moved row names the old path", recent.includes("from engineering/deploy"), recent);
    await shot("recent");
    await page.goto(`${base}/folders/engineering`);
    check("folder lists its pages", (await page.locator("ul.v-list a:has-text('Engineering overview')").count()) === 1);
    await shot("folder");
  });

  await step("search: the header box, results with highlights, an exact path, suggestions", async () => {
    // The index follows the change feed: give it a moment on a slow machine.
    let hits = 0;
    for (let i = 0; i < 40 && hits === 0; i++) {
      await page.goto(`${base}/wiki/engineering/overview`);
      await page.fill("header input[name=q]", "deploy runbook");
      await Promise.all([page.waitForNavigation(), page.press("header input[name=q]", "Enter")]);
      hits = await page.locator("ol.v-hits li").count();
      if (hits === 0) await page.waitForTimeout(250);
    }
    check("the header box searches", page.url().startsWith(`${base}/search?q=deploy`), page.url());
    check("the search finds the pages", hits >= 2, `hits=${hits}`);
    check("matches are highlighted", (await page.locator(".v-snippet mark").count()) > 0);
    check("facets list the folders", (await page.locator(".v-facets a:has-text('engineering')").count()) >= 1);
    await shot("search");
    await page.goto(`${base}/search?q=deplyo`);
    check("a typo still finds the page", (await page.locator("ol.v-hits a:has-text('Deploy')").count()) >= 1);
    await page.fill("header input[name=q]", "operations/deploy");
    await Promise.all([page.waitForNavigation(), page.press("header input[name=q]", "Enter")]);
    check("an exact path opens the page", page.url() === `${base}/wiki/operations/deploy`, page.url());
    const withJs = await browser.newContext({ viewport: { width: 1280, height: 860 }, storageState: await page.context().storageState() });
    const j = await withJs.newPage();
    await j.goto(`${base}/wiki/engineering/overview`);
    await j.fill("header input[name=q]", "Depl");
    await j.waitForSelector("#v-suggest option[value='operations/deploy']", { state: "attached", timeout: 10000 });
    check("typing suggests titles", (await j.locator("#v-suggest option").count()) >= 1);
    await withJs.close();
  });

  await step("comments: a thread, a reply, @ completion, resolve", async () => {
    await page.goto(`${base}/wiki/operations/deploy`);
    await page.fill("#v-new-comment", "Should we **announce** deploys?");
    await Promise.all([page.waitForNavigation(), page.click("form.v-comment-new button")]);
    check("the comment shows under the page", (await page.locator(".v-comment strong:has-text('announce')").count()) === 1);
    const count = await page.locator(".v-meta a[href='#comments']").textContent();
    check("the page header counts comments", count.includes("1 comment"), count);
    await page.click(".v-thread-actions summary:has-text('Reply')");
    await page.fill(".v-thread-actions textarea", "Yes, in the ops channel.");
    await Promise.all([page.waitForNavigation(), page.click(".v-thread-actions button:has-text('Reply')")]);
    check("a reply joins its thread (without JavaScript)", (await page.locator(".v-reply:has-text('ops channel')").count()) === 1);
    const withJs = await browser.newContext({ viewport: { width: 1280, height: 860 }, storageState: await page.context().storageState() });
    const j = await withJs.newPage();
    await j.goto(`${base}/wiki/operations/deploy`);
    await j.click("#v-new-comment");
    await j.keyboard.type("Thanks @adm");
    await j.waitForSelector(".v-comment-new .v-linksuggest li", { timeout: 10000 });
    check("typing @ suggests people", (await j.locator(".v-comment-new .v-linksuggest li:has-text('@admin')").count()) === 1);
    await j.keyboard.press("Enter");
    const typed = await j.inputValue("#v-new-comment");
    check("choosing a person completes the name", typed === "Thanks @admin ", JSON.stringify(typed));
    await withJs.close();
    await Promise.all([page.waitForNavigation(), page.click(".v-thread-actions button:has-text('Resolve')")]);
    check("a resolved thread folds away", (await page.locator(".v-thread-resolved summary:has-text('Resolved thread')").count()) === 1);
    await shot("comments");
  });

  await step("page verification: an owner and interval, mark as verified, the report", async () => {
    await page.goto(`${base}/wiki/operations/deploy`);
    await Promise.all([page.waitForNavigation(), page.click(".v-actions a:has-text('Review')")]);
    await page.fill("input[name=owner]", "admin");
    await page.fill("input[name=interval_days]", "90");
    await Promise.all([page.waitForNavigation(), page.click("form.v-editor button:has-text('Save')")]);
    check("the review settings are saved", (await page.locator("p.v-note:has-text('Review settings saved')").count()) === 1);
    await page.goto(`${base}/wiki/operations/deploy`);
    check("the byline says the page is under review", (await page.locator(".v-meta a:has-text('under review')").count()) === 1);
    await page.goto(`${base}/verification`);
    check("the report lists the never-verified page", (await page.locator(".v-table a:has-text('Deploy')").count()) === 1);
    await shot("verification");
    await page.goto(`${base}/wiki/operations/deploy/-/review`);
    await Promise.all([page.waitForNavigation(), page.click("form button:has-text('Mark as verified')")]);
    check("verifying is confirmed", (await page.locator("p.v-note:has-text('Marked verified')").count()) === 1);
    await shot("review");
    await page.goto(`${base}/wiki/operations/deploy`);
    check("the byline says it was verified", (await page.locator(".v-meta a:has-text('verified 20')").count()) === 1);
    await page.goto(`${base}/wiki/operations/deploy/-/history`);
    check("the history lists the verification", (await page.locator("li:has-text('Verified by')").count()) === 1);
  });

  await step("files: upload an image, show it in the page, versions", async () => {
    // A 16×16 blue PNG.
    const png = Buffer.from("89504e470d0a1a0a0000000d49484452000000100000001008060000001ff3ff610000001949444154789c63d0883af19f12cc306ac0a801a3060c170300181d491f48dc0c980000000049454e44ae426082", "hex");
    await page.goto(`${base}/wiki/engineering/overview`);
    await Promise.all([page.waitForNavigation(), page.click(".v-actions a:has-text('Files')")]);
    await page.setInputFiles("input[type=file]", { name: "diagram.png", mimeType: "image/png", buffer: png });
    await Promise.all([page.waitForNavigation(), page.click("form.v-upload button")]);
    check("the upload is confirmed", (await page.locator("p.v-note:has-text('is uploaded')").count()) === 1);
    check("the file is listed with its type from its bytes", (await page.locator("td code:has-text('image/png')").count()) === 1);
    await shot("files");
    await page.goto(`${base}/wiki/engineering/overview/-/edit`);
    const text = await page.inputValue("textarea[name=markdown]");
    await page.fill("textarea[name=markdown]", `${text}\n\n![The diagram](file:diagram.png)\n`);
    await Promise.all([page.waitForNavigation(), page.click("button[value=save]")]);
    const src = await page.getAttribute(".v-content img[alt='The diagram']", "src");
    check("the page shows the image by its file: reference", typeof src === "string" && src.startsWith("/embed/"), String(src));
    const img = await page.context().request.get(`${base}${src}`);
    // The image itself, or its large preview once the job made it.
    const type = img.headers()["content-type"];
    check("the image is delivered", img.status() === 200 && ((await img.body()).equals(png) || type === "image/webp"), `${img.status()} ${type}`);
    await page.goto(`${base}/wiki/engineering/overview/-/files`);
    await page.setInputFiles("input[type=file]", { name: "diagram.png", mimeType: "image/png", buffer: png });
    await Promise.all([page.waitForNavigation(), page.click("form.v-upload button")]);
    check("the same name again is a new version", (await page.locator("p.v-note:has-text('new version, 2')").count()) === 1);
    await Promise.all([page.waitForNavigation(), page.click("td a:has-text('diagram.png')")]);
    check("the file page lists both versions", (await page.locator(".v-table tbody tr").count()) === 2);
    check("the file page lists the page that shows it", (await page.locator("ul.v-list a:has-text('Overview')").count()) === 1);
    // The preview job runs in the server: the page shows its preview soon.
    let previewed = false;
    for (let i = 0; i < 100 && !previewed; i++) {
      await page.reload();
      previewed = (await page.locator(".v-file-preview img[src*='preview=large']").count()) === 1;
      if (!previewed) await page.waitForTimeout(100);
    }
    check("the file page shows the image's large preview", previewed);
    await shot("file");
    // With JavaScript: a file dropped on the editor is uploaded and referenced.
    const withJs = await browser.newContext({ viewport: { width: 1280, height: 860 }, storageState: await page.context().storageState() });
    const j = await withJs.newPage();
    await j.goto(`${base}/wiki/engineering/overview/-/edit`);
    const dt = await j.evaluateHandle((b64) => {
      const bin = atob(b64);
      const bytes = new Uint8Array(bin.length);
      for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
      const t = new DataTransfer();
      t.items.add(new File([bytes], "dropped chart.png", { type: "image/png" }));
      return t;
    }, png.toString("base64"));
    await j.dispatchEvent("textarea[name=markdown]", "drop", { dataTransfer: dt });
    await j.waitForFunction(() => document.querySelector("textarea[name=markdown]").value.includes("(file:dropped%20chart.png)"), null, { timeout: 10000 });
    check("a dropped file is uploaded and referenced", (await j.inputValue("textarea[name=markdown]")).includes("![dropped chart.png](file:dropped%20chart.png)"));
    await withJs.close();
  });

  await step("two people edit the same line: the conflict screen", async () => {
    await page.goto(`${base}/wiki/operations/deploy/-/edit`);
    // Someone else saves the same lines in another tab meanwhile.
    const otherContext = await browser.newContext({ javaScriptEnabled: false, storageState: await page.context().storageState() });
    const other = await otherContext.newPage();
    await other.goto(`${base}/wiki/operations/deploy/-/edit`);
    await other.fill("textarea[name=markdown]", "# Deploy\n\n1. Build it\n2. Test\n3. Ship\n\n```sh\nmake deploy --force\n```\n");
    await Promise.all([other.waitForNavigation(), other.click("button[value=save]")]);
    await otherContext.close();
    await page.fill("textarea[name=markdown]", "# Deploy\n\n1. Build everything\n2. Test\n3. Ship\n\n```sh\nmake deploy --force\n```\n");
    await Promise.all([page.waitForNavigation(), page.click("button[value=save]")]);
    check("the conflict is explained", (await page.locator("h2:has-text('Someone else saved this page')").count()) === 1);
    const scrolled = await page.evaluate(() => window.scrollY).catch(() => 0);
    check("the explanation is on screen, not scrolled past", scrolled === 0, `scrollY=${scrolled}`);
    const text = await page.inputValue("textarea[name=markdown]");
    check("the editor holds both versions between markers", text.includes("<<<<<<< ours") && text.includes("Build everything") && text.includes("Build it"), text);
    await shot("conflict");
    await Promise.all([page.waitForNavigation(), page.click("button[value=save]")]);
    check("saving the markers unchanged is caught", (await page.locator(".v-error:has-text('conflict markers')").count()) === 1);
    await page.fill("textarea[name=markdown]", "# Deploy\n\n1. Build everything, then it\n2. Test\n3. Ship\n\n```sh\nmake deploy --force\n```\n");
    await Promise.all([page.waitForNavigation(), page.click("button[value=save]")]);
    check("the resolved text is saved", page.url() === `${base}/wiki/operations/deploy`, page.url());
  });

  await step("an error page keeps the signed-in chrome", async () => {
    await page.goto(`${base}/no/such/page`);
    check("the header still names the user", (await page.locator(".v-user a:has-text('admin')").count()) === 1);
    await shot("error");
  });

  await step("on a phone, and in dark mode", async () => {
    // A second context, sharing the sign-in, with JavaScript on only so the
    // test can measure the page (Vellum's pages have no scripts).
    const phone = await browser.newContext({
      viewport: { width: 375, height: 812 },
      colorScheme: "dark",
      storageState: await page.context().storageState(),
    });
    const p = await phone.newPage();
    await p.goto(`${base}/wiki/operations/deploy`);
    const header = await p.locator("header.v-top").boundingBox();
    check("the phone header is compact", header && header.height < 140, `height=${header && header.height}`);
    const contrast = await p.evaluate(() => {
      const rgb = (c) => (c.match(/\d+(\.\d+)?/g) || []).slice(0, 3).map(Number);
      const lum = ([r, g, b]) => {
        const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
        return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
      };
      const pre = document.querySelector("pre.syntax-highlighting");
      if (!pre) return { min: 0, spans: 0 };
      const bg = lum(rgb(getComputedStyle(pre).backgroundColor));
      let min = Infinity;
      const spans = pre.querySelectorAll("span");
      for (const s of spans) {
        if (!s.textContent.trim()) continue;
        const fg = lum(rgb(getComputedStyle(s).color));
        const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
        min = Math.min(min, ratio);
      }
      return { min, spans: spans.length };
    });
    check("dark-mode code is readable (contrast at least 3:1)", contrast.spans > 0 && contrast.min >= 3, JSON.stringify(contrast));
    if (shots) await p.screenshot({ path: join(shotDir, `${backend}-phone-dark-page.png`), fullPage: true });
    for (const [name, path] of [["history", "/wiki/operations/deploy/-/history"], ["recent", "/recent"], ["search", "/search?q=deploy"]]) {
      await p.goto(`${base}${path}`);
      const overflow = await p.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      check(`the ${name} page does not scroll sideways on a phone`, overflow <= 1, `overflow=${overflow}px`);
      if (shots) await p.screenshot({ path: join(shotDir, `${backend}-phone-${name}.png`), fullPage: true });
    }
    await phone.close();
  });

  await step("a restricted folder: groups, the access page, explain, and a viewer outside it", async () => {
    await page.goto(`${base}/admin`);
    await page.fill("input[name=username]", "vera");
    await page.fill("input[name=password]", "vera's long password");
    await page.selectOption("select[name=role]", "viewer");
    await Promise.all([page.waitForNavigation(), page.click("button:has-text('Create user')")]);
    await page.goto(`${base}/admin/groups`);
    await page.fill("input[name=name]", "Ops team");
    await Promise.all([page.waitForNavigation(), page.click("button:has-text('Make group')")]);
    check("the new group has its page", (await page.textContent("h1")).includes("Ops team"));
    await page.fill("input[name=username]", "admin");
    await Promise.all([page.waitForNavigation(), page.click("button:has-text('Add')")]);
    await shot("group");
    await page.goto(`${base}/folders/operations`);
    await Promise.all([page.waitForNavigation(), page.click("a:has-text('Access')")]);
    check("the folder's Access button leads to its access page", page.url().endsWith("/access/operations"), page.url());
    await page.uncheck("input[name=inherit]");
    await page.fill("tbody tr:nth-child(1) input[name=principal]", "group:Ops team");
    await page.selectOption("tbody tr:nth-child(1) select[name=level]", "edit");
    await Promise.all([page.waitForNavigation(), page.click("button:has-text('Save rules')")]);
    check("the rules are saved", (await page.textContent("main")).includes("Saved."));
    await page.fill("input[name=explain]", "vera");
    await Promise.all([page.waitForNavigation(), page.click("button:has-text('Explain')")]);
    check("explain says vera has no access here", (await page.textContent("main")).includes("vera has no access here"));
    await shot("access");
    await page.goto(`${base}/admin/access-report?user=vera`);
    check("the report lists the closed folder", (await page.textContent("table")).includes("operations"));
    await shot("access-report");
    const viewerContext = await browser.newContext({ viewport: { width: 1280, height: 860 }, javaScriptEnabled: false });
    const v = await viewerContext.newPage();
    await v.goto(`${base}/login`);
    await v.fill("input[name=username]", "vera");
    await v.fill("input[name=password]", "vera's long password");
    await Promise.all([v.waitForNavigation(), v.click("button:has-text('Sign in')")]);
    await v.goto(`${base}/folders`);
    check("vera does not see the closed folder", !(await v.textContent("main")).includes("operations"));
    const res = await v.goto(`${base}/wiki/operations/deploy`);
    check("a page in it answers as if it did not exist", res.status() === 404 && (await v.textContent("main")).includes("that you can read"));
    if (shots) await v.screenshot({ path: join(shotDir, `${backend}-viewer-restricted.png`), fullPage: true });
    await v.goto(`${base}/wiki/engineering/overview`);
    const actions = await v.textContent(".v-actions");
    check("a viewer is offered neither Edit, Move, Delete nor Access", !/Edit|Move|Delete|Access/.test(actions), actions);
    await v.goto(`${base}/search?q=deploy`);
    check("vera's search does not find the closed folder's pages", !(await v.textContent("main")).includes("operations/deploy"));
    await viewerContext.close();
  });

  await step("accounts: your account, two-factor sign-in, users and the audit log", async () => {
    await page.goto(`${base}/account`);
    await page.fill("input[name=display_name]", "Ada Lovelace");
    await Promise.all([page.waitForNavigation(), page.click("form:has(input[value=profile]) button")]);
    check("the display name is saved", (await page.inputValue("input[name=display_name]")) === "Ada Lovelace");
    await page.fill("input[name=name]", "backup script");
    await Promise.all([page.waitForNavigation(), page.click("button:has-text('Make token')")]);
    const token = (await page.textContent(".v-secret code")).trim();
    check("a new token is shown once", token.startsWith("vlm_"), token);
    const api = await fetch(`${base}/api/v1/pages/engineering/overview`, { headers: { authorization: `Bearer ${token}` } });
    check("the token reads through the API", api.status === 200, `status=${api.status}`);
    await page.goto(`${base}/account`);
    check("the token list never shows the token again", !(await page.content()).includes(token));
    await shot("account");

    await page.goto(`${base}/account/two-factor`);
    await Promise.all([page.waitForNavigation(), page.click("button:has-text('Set it up')")]);
    check("setting up shows a QR code", (await page.locator(".v-qr svg").count()) === 1);
    await shot("two-factor-setup");
    const secret = (await page.textContent("code.v-token")).trim();
    await page.fill("input[name=code]", totpCode(secret));
    await Promise.all([page.waitForNavigation(), page.click("button:has-text('Turn on')")]);
    const codes = await page.locator(".v-codes code").allTextContents();
    check("turning it on hands out ten recovery codes", codes.length === 10, `${codes.length}`);
    await shot("two-factor-codes");

    // Signing in now takes a code, in a fresh browser.
    const fresh = await browser.newContext({ viewport: { width: 1280, height: 860 }, javaScriptEnabled: false });
    const f = await fresh.newPage();
    await f.goto(`${base}/login`);
    await f.fill("input[name=username]", "admin");
    await f.fill("input[name=password]", "correct horse battery");
    await Promise.all([f.waitForNavigation(), f.click("button:has-text('Sign in')")]);
    check("after the password, the code is asked for", (await f.locator("input[name=code]").count()) === 1);
    if (shots) await f.screenshot({ path: join(shotDir, `${backend}-login-code.png`), fullPage: true });
    await f.fill("input[name=code]", "000000");
    await Promise.all([f.waitForNavigation(), f.click("button")]);
    check("a wrong code is refused", (await f.textContent("main")).includes("not right"));
    await f.goto(`${base}/login`);
    await f.fill("input[name=username]", "admin");
    await f.fill("input[name=password]", "correct horse battery");
    await Promise.all([f.waitForNavigation(), f.click("button:has-text('Sign in')")]);
    await f.fill("input[name=code]", codes[0]);
    await Promise.all([f.waitForNavigation(), f.click("button")]);
    check("a recovery code signs in", (await f.textContent("header .v-user")).includes("admin"), f.url());
    await fresh.close();

    await page.goto(`${base}/admin/users`);
    check("the users page lists vera", (await page.textContent("table")).includes("vera"));
    await shot("users");
    await page.goto(`${base}/admin/users/vera`);
    await Promise.all([page.waitForNavigation(), page.click("button:has-text('Disable the account')")]);
    check("vera is disabled", (await page.textContent("main")).includes("Enable the account"));
    await shot("user");
    await page.goto(`${base}/admin/audit?action=auth.`);
    const log = await page.textContent("table");
    check("the audit log shows the sign-ins and the failed code", log.includes("auth.signed_in") && log.includes("auth.sign_in_failed"), log.slice(0, 300));
    await page.goto(`${base}/admin/audit`);
    check("the audit log shows vera's account change", (await page.textContent("table")).includes("user:vera"));
    await shot("audit");
  });

  await step("single sign-on through an OpenID provider", async () => {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 860 }, javaScriptEnabled: false });
    const p = await ctx.newPage();
    await p.goto(`${base}/login`);
    check("the sign-in page offers the provider", (await p.textContent("main")).includes("Sign in with Example ID"));
    if (shots) await p.screenshot({ path: join(shotDir, `${backend}-login-sso.png`), fullPage: true });
    await Promise.all([p.waitForNavigation(), p.click("a:has-text('Sign in with Example ID')")]);
    check("the button leads to the provider", p.url().startsWith(`http://127.0.0.1:${oidcPort}/`), p.url());
    await p.fill("input[name=login]", "sam");
    await p.fill("input[name=password]", "anything");
    await Promise.all([p.waitForNavigation(), p.click("button[type=submit]")]);
    await Promise.all([p.waitForNavigation(), p.click("button[type=submit]")]);
    check("back on the wiki, signed in as the provider's user", p.url().startsWith(base) && (await p.textContent("header .v-user")).includes("sam"), p.url());
    await p.goto(`${base}/account`);
    check("the provider's name became the display name", (await p.inputValue("input[name=display_name]")) === "Sam Okafor");
    check("the account page says there is no password to change", !(await p.content()).includes("name=\"current_password\""));
    await p.goto(`${base}/wiki/engineering/overview`);
    check("the provider's group made sam an editor", (await p.textContent(".v-actions")).includes("Edit"));
    await ctx.close();
  });

  await step("sign out, and the wiki is closed to visitors", async () => {
    await Promise.all([page.waitForNavigation(), page.click("button:has-text('Sign out')")]);
    await page.goto(`${base}/wiki/operations/deploy`);
    check("visitors are sent to sign in", page.url().startsWith(`${base}/login`), page.url());
    await shot("login");
  });
} finally {
  await browser.close();
  provider.kill("SIGTERM");
  server.kill("SIGTERM");
  await new Promise((r) => server.once("exit", r));
  check("server stops cleanly on SIGTERM", server.exitCode === 0, `exit=${server.exitCode}\n${console_.slice(-2000)}`);
  rmSync(dataDir, { recursive: true, force: true });
  if (pgName) {
    psql(`DROP DATABASE IF EXISTS ${pgName} WITH (FORCE)`);
  }
}
console.log(`${results.passed} passed, ${results.failed} failed`);
process.exit(results.failed === 0 ? 0 : 1);
