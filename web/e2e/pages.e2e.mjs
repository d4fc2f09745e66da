// Drives the console's platform pages in Debian's Chromium with playwright-core against a running
// server on the sandbox: a developer creates an app through the form (a field message first),
// sees the dry-run diff and the pending approval; an operator approves; the app's pod runs; its
// logs; a settings change and a rollback from the revisions tab, each approved; a Redis from the
// catalog; the bill chart; an alert's diagnosis; Chinese UI; a phone-width screen; labelled
// fields; and every console path 「…」 of the help manual walked by its words. Screenshots go to
// $ARTIFACTS. Run by cmd/k8s-manage's TestConsolePagesInBrowser; exits non-zero on the first failure.
import { chromium } from "playwright-core";
import { mkdirSync, readFileSync } from "node:fs";

const env = (k) => { const v = process.env[k]; if (!v) { console.error(`missing ${k}`); process.exit(2); } return v; };
const base = env("BASE_URL");
const artifacts = env("ARTIFACTS");
mkdirSync(artifacts, { recursive: true });
const step = (s) => console.log(`step: ${s}`);
const shot = (page, name) => page.screenshot({ path: `${artifacts}/${name}.png`, fullPage: true });

const browser = await chromium.launch({
  executablePath: env("CHROMIUM"),
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync"],
});
const errors = [];
const open = async (email, viewport = { width: 1280, height: 800 }, locale = "en-US") => {
  const ctx = await browser.newContext({ viewport, locale });
  const page = await ctx.newPage();
  page.setDefaultTimeout(60_000);
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(base + "/");
  await page.fill('input[name="email"]', email);
  await page.fill('input[name="password"]', env("PASSWORD"));
  await page.click('button[type="submit"]');
  await page.waitForSelector('nav a[data-view="apps"]');
  return page;
};
const approve = async (page, id) => {
  await page.goto(base + "/approvals");
  const card = page.locator(`.card[data-approval="${id}"]`);
  await card.waitFor();
  await card.locator("button.primary").click();
  await page.waitForSelector(`.card[data-approval="${id}"].decided`);
};
// submitPreview clicks through the preview dialog and returns the pending approval's id.
const submitPreview = async (page, diffHas) => {
  const dialog = page.locator("dialog.preview");
  await dialog.waitFor();
  const diff = await dialog.locator("pre.diff").textContent();
  for (const s of diffHas) if (!diff.includes(s)) throw new Error(`the preview's diff lacks ${s}:\n${diff}`);
  return diff;
};
const pendingID = async (page) => {
  const card = page.locator(".pending-approval").last();
  await card.waitFor();
  return card.getAttribute("data-approval");
};

let dev;
try {
  dev = await open(env("DEV_EMAIL"));
  const ops = await open(env("OPS_EMAIL"));
  const admin = await open(env("ADMIN_EMAIL"));

  step("the app list with 200 apps: time to the rendered table");
  const t0 = Date.now();
  await dev.click('nav a[data-view="apps"]');
  await dev.waitForSelector("table.apps tbody tr:nth-child(200)");
  const listMs = Date.now() - t0;
  console.log(`FIGURE apps-list-200: ${listMs} ms from the click to 200 rendered rows`);
  await shot(dev, "01-apps-list");

  step("New app: a bad name gets a message next to its field; nothing is requested");
  await dev.click('[data-action="new-app"]');
  await dev.fill('input[name="name"]', "Shop_1");
  await dev.fill('input[name="image"]', "nginx:1.27");
  await dev.click('form.spec button[type="submit"]');
  const nameErr = await dev.locator('[data-field="name"] .field-error').textContent();
  if (!nameErr) throw new Error("no message next to the name field");
  if (await dev.locator("dialog.preview").count()) throw new Error("a preview opened for a bad form");
  await shot(dev, "02-new-app-invalid");

  step("New app with an env var and a port: the dry-run diff, then the pending approval");
  await dev.fill('input[name="name"]', "shop");
  await dev.fill('input[name="replicas"]', "1");
  await dev.fill('input[name="resources.cpu_request"]', "250m");
  await dev.fill('input[name="resources.memory_request"]', "256Mi");
  await dev.click('[data-add="env"]');
  await dev.fill('input[name="env-key"]', "GREETING");
  await dev.fill('input[name="env-value"]', "hello");
  await dev.click('[data-add="ports"]');
  await dev.fill('input[name="ports-key"]', "8080");
  await dev.click('form.spec button[type="submit"]');
  await submitPreview(dev, ["GREETING", "8080"]);
  await shot(dev, "03-new-app-preview");
  await dev.click("dialog.preview button.primary");
  const createID = await pendingID(dev);
  await shot(dev, "04-new-app-pending");

  step("an operator approves it in the inbox");
  await approve(ops, createID);
  await shot(ops, "05-operator-approved");

  step("the app appears in the list and its pod runs on the sandbox");
  await dev.goto(base + "/apps");
  await dev.waitForSelector("table.apps");
  await dev.fill('input[name="q"]', "sho");
  await dev.waitForFunction(() => document.querySelectorAll("table.apps tbody tr").length === 1);
  await dev.click('a[data-app="shop"]');
  await dev.click('.tabs a[data-tab="pods"]');
  await dev.waitForSelector('table.pods td:has-text("Running")');
  await shot(dev, "06-app-pods");

  step("its logs, filtered");
  await dev.click("table.pods a[data-logs]");
  await dev.waitForSelector('.logs .line:has-text("GET /orders")');
  await dev.fill('input[name="q"]', "500");
  await dev.click('[data-action="logs"]');
  await dev.waitForFunction(() => { const l = [...document.querySelectorAll(".logs .line")]; return l.length > 0 && l.every((x) => x.textContent.includes("500")); });
  await shot(dev, "07-app-logs");

  step("settings: a new image, through the preview and an approval");
  await dev.click('.tabs a[data-tab="settings"]');
  await dev.fill('input[name="image"]', "nginx:1.28");
  await dev.click('form.spec button[type="submit"]');
  await submitPreview(dev, ["nginx:1.28"]);
  await dev.click("dialog.preview button.primary");
  await approve(ops, await pendingID(dev));

  step("roll back from the revisions tab, again through approval");
  await dev.goto(base + "/apps/shop/revisions");
  await dev.waitForSelector("table.revisions [data-rollback]");
  await dev.click("table.revisions [data-rollback]");
  await submitPreview(dev, ["nginx:1.27"]);
  await dev.click("dialog.preview button.primary");
  const rollbackID = await pendingID(dev);
  await shot(dev, "08-rollback-pending");
  await approve(ops, rollbackID);
  await dev.goto(base + "/apps/shop/revisions");
  await dev.waitForFunction(() => [...document.querySelectorAll("table.revisions tr")].some((r) => r.textContent.includes("nginx:1.27") && r.querySelector(".pill")));
  await shot(dev, "09-rolled-back");

  step("the catalog: plans as cards; a developer may not provision, an operator provisions a Redis");
  await dev.goto(base + "/catalog");
  if (!(await dev.locator('form[data-type="redis"] button[type="submit"]').isDisabled())) throw new Error("a developer can press Provision");
  await ops.goto(base + "/catalog");
  await ops.fill('form[data-type="redis"] input[name="name"]', "cache");
  await ops.click('form[data-type="redis"] button[type="submit"]');
  await submitPreview(ops, ["cache"]);
  await ops.click("dialog.preview button.primary");
  await approve(admin, await pendingID(ops));
  await ops.goto(base + "/catalog");
  await ops.waitForSelector('table.instances td:has-text("cache")');
  await ops.click('[data-reveal="cache"]');
  await ops.waitForFunction(() => /default \/ \S{8,}/.test(document.querySelector("table.instances")?.textContent || ""));
  await dev.goto(base + "/catalog");
  await dev.waitForSelector('table.instances td:has-text("cache")');
  if (await dev.locator("[data-reveal]").count()) throw new Error("a developer sees the credentials button");
  await shot(ops, "10-catalog-redis");

  step("the bill chart per resource and per app, and the CSV link");
  await dev.goto(base + "/bills");
  await dev.waitForSelector("figure.bars svg rect");
  const widths = await dev.$$eval("figure.bars svg rect", (rs) => rs.map((r) => Number(r.getAttribute("width"))));
  if (Math.max(...widths) < 100) throw new Error(`the bill chart has no real bars: ${widths}`);
  if (!(await dev.getAttribute("a[data-csv]", "href")).includes("format=csv")) throw new Error("no CSV link");
  await shot(dev, "11-bills");

  step("an alert's diagnosis");
  await dev.goto(base + "/alerts");
  await dev.click("button[data-alert]");
  const diag = await dev.locator(".alert-body .answer").textContent();
  if (!diag.trim()) throw new Error("the alert has no diagnosis");
  await shot(dev, "12-alert-diagnosis");

  step("every form field has a label, and the pages are reachable by keyboard");
  for (const p of ["/apps/new", "/apps/shop/settings", "/builds", "/catalog", "/config", "/bills", "/environments"]) {
    await dev.goto(base + p);
    await dev.waitForSelector("main h1");
    const unlabelled = await dev.evaluate(() => [...document.querySelectorAll("main input, main select, main textarea")]
      .filter((i) => !(i.labels?.length || i.getAttribute("aria-label"))).map((i) => i.name || i.outerHTML.slice(0, 60)));
    if (unlabelled.length) throw new Error(`${p}: fields without a label: ${unlabelled.join(", ")}`);
  }
  await dev.goto(base + "/apps");
  await dev.waitForSelector("table.apps");
  await dev.focus('nav a[data-view="builds"]');
  await dev.keyboard.press("Enter");
  await dev.waitForSelector('main h1:has-text("Builds")');

  step("Chinese UI, switched in the header");
  await dev.selectOption('select[name="lang"]', "zh");
  await dev.waitForSelector('nav a[data-view="apps"]:has-text("应用")');
  await shot(dev, "13-chinese");

  step("a phone-width screen");
  const phone = await open(env("DEV_EMAIL"), { width: 390, height: 844 }, "zh-CN");
  await phone.goto(base + "/apps/shop");
  await phone.waitForSelector("dl.facts");
  const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  if (overflow > 2) throw new Error(`the page is ${overflow}px wider than the phone`);
  if (!(await phone.locator('nav a[data-view="apps"]').textContent()).includes("应用")) throw new Error("the browser's Chinese was not the default");
  await shot(phone, "14-phone");

  step("the manual's console paths 「…」 exist, walked by their words (Chinese UI, as an admin)");
  const manual = readFileSync(env("MANUAL"), "utf8");
  const paths = [];
  for (const m of manual.matchAll(/「([^」]+)」/g)) {
    const before = manual.slice(Math.max(0, m.index - 30), m.index);
    if (/Slack|钉钉|DingTalk|Block Kit/.test(before)) continue; // a chat surface's button, not a console page
    paths.push(m[1].split("→").map((s) => s.trim()));
  }
  await admin.selectOption('select[name="lang"]', "zh");
  const clickText = async (page, word) => {
    const target = page.locator("nav a, .tabs a, main button, main a, main label, main h1, main h2, main legend").filter({ hasText: word }).first();
    try { await target.waitFor({ timeout: 4000 }); } catch { return false; }
    const tag = await target.evaluate((e) => e.tagName);
    if (tag === "A" || tag === "BUTTON") await target.click();
    await page.waitForTimeout(150);
    return true;
  };
  const walked = [];
  for (const segs of paths) {
    await admin.goto(base + "/chat");
    await admin.waitForSelector("nav a[data-view]");
    let ok = true;
    for (const s of segs) {
      if (await clickText(admin, s)) continue;
      if (!(await admin.locator(".tabs").count())) { // a page inside an app (「Pod → 日志」, 「应用 → 设置」): open the first app, look again
        if (!(await admin.locator("table.apps").count())) await admin.click('nav a[data-view="apps"]');
        await admin.click("table.apps a[data-app]");
        await admin.waitForSelector(".tabs");
        if (await clickText(admin, s)) continue;
      }
      ok = false;
      break;
    }
    if (!ok) throw new Error(`the manual's path 「${segs.join(" → ")}」 is not in the console`);
    walked.push(segs.join(" → "));
  }
  console.log(`walked ${walked.length} manual paths: ${walked.join(" | ")}`);
  if (walked.length < 10) throw new Error(`only ${walked.length} manual paths found: is the scan broken?`);
  await shot(admin, "15-manual-walk-last");

  if (errors.length) throw new Error(`page errors: ${errors.join("; ")}`);
  console.log("ok");
} catch (e) {
  console.error(`FAILED: ${e.stack || e}`);
  if (dev) await dev.screenshot({ path: `${artifacts}/failure.png`, fullPage: true }).catch(() => {});
  await browser.close();
  process.exit(1);
}
await browser.close();
