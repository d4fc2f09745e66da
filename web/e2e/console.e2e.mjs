// Drives the console in Debian's Chromium with playwright-core against a running server:
// log in as a developer, ask a how-to question and see the cited chunks, ask for a scale and see
// the approval request, log in as an operator, approve it in the inbox with its diff, and see the
// result. Screenshots go to $ARTIFACTS. Run by cmd/k8s-manage's TestConsoleInBrowser; exits non-zero
// on the first failed step.
import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";

const env = (k) => { const v = process.env[k]; if (!v) { console.error(`missing ${k}`); process.exit(2); } return v; };
const base = env("BASE_URL");
const artifacts = env("ARTIFACTS");
mkdirSync(artifacts, { recursive: true });
const step = (s) => console.log(`step: ${s}`);

const browser = await chromium.launch({
  executablePath: env("CHROMIUM"),
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync"],
});
let page;
try {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  page = await ctx.newPage();
  page.setDefaultTimeout(60_000);
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));

  const login = async (email, password) => {
    await page.goto(base + "/");
    await page.fill('input[name="email"]', email);
    await page.fill('input[name="password"]', password);
    await page.click('button[type="submit"]');
    await page.waitForSelector('nav a[data-view="approvals"]');
  };

  step("a wrong password is refused");
  await page.goto(base + "/");
  await page.fill('input[name="email"]', env("DEV_EMAIL"));
  await page.fill('input[name="password"]', "not the password");
  await page.click('button[type="submit"]');
  await page.waitForSelector('.login .error:has-text("wrong e-mail or password")');

  step("log in as the developer");
  await login(env("DEV_EMAIL"), env("DEV_PASSWORD"));
  const tenant = await page.inputValue('select[name="tenant"]');
  if (tenant !== env("TENANT")) throw new Error(`tenant switcher shows ${tenant}, want ${env("TENANT")}`);

  step("ask a how-to question: the answer cites knowledge chunks");
  await page.fill('input[name="message"]', "how do I set up a canary release?");
  await page.click('.composer button[type="submit"]');
  const chip = await page.waitForSelector(".sources .chip");
  const cited = await chip.getAttribute("data-chunk");
  const answer = await page.textContent(".msg.bot:last-of-type .answer");
  if (!answer.includes("From the docs")) throw new Error(`unexpected answer: ${answer}`);
  console.log(`cited: ${cited}`);
  await page.screenshot({ path: `${artifacts}/01-howto-cited.png`, fullPage: true });

  step("an answer quoting a hostile runbook renders as Markdown; none of its HTML, script or javascript: link gets through");
  await page.fill('input[name="message"]', "how do I rotate the payment gateway certificate?");
  await page.click('.composer button[type="submit"]');
  const hostile = ".msg.bot:last-of-type .answer";
  await page.waitForSelector(`${hostile} table`);
  const rendered = await page.evaluate((sel) => {
    const a = document.querySelector(sel);
    return {
      pwned: window.__pwned ?? null,
      active: a.querySelectorAll("script, img, iframe, [onerror], [onclick], [style]").length,
      badLinks: [...a.querySelectorAll("a[href]")].filter((x) => !/^(https?:|mailto:)/.test(x.getAttribute("href"))).length,
      inertLink: [...a.querySelectorAll("a")].some((x) => x.textContent === "open the vault" && !x.hasAttribute("href")),
      strong: a.querySelectorAll("strong").length,
      code: a.querySelectorAll("td code").length,
      safeLink: !!a.querySelector('a[href="https://vault.example.com/docs"][rel~="noopener"]'),
      stars: a.textContent.includes("**"),
      chips: a.querySelectorAll(".cite[data-chunk^='runbook/']").length,
    };
  }, hostile);
  console.log(`hostile answer rendered: ${JSON.stringify(rendered)}`);
  if (rendered.pwned !== null || rendered.active || rendered.badLinks) throw new Error(`hostile markup got through: ${JSON.stringify(rendered)}`);
  if (!rendered.strong || !rendered.code || !rendered.safeLink || !rendered.inertLink || rendered.stars || !rendered.chips) throw new Error(`the answer is not rendered as Markdown: ${JSON.stringify(rendered)}`);
  await page.screenshot({ path: `${artifacts}/01b-markdown-hostile.png`, fullPage: true });

  step("ask for a scale: an approval request with the diff appears, nothing runs yet");
  await page.fill('input[name="message"]', "scale nginx to 3 replicas");
  await page.click('.composer button[type="submit"]');
  const card = await page.waitForSelector(".card[data-approval]");
  const id = await card.getAttribute("data-approval");
  const diff = await card.textContent();
  if (!diff.includes("spec.replicas: 2 -> 3")) throw new Error(`approval card lacks the diff: ${diff}`);
  console.log(`approval: ${id}`);
  await page.screenshot({ path: `${artifacts}/02-approval-requested.png`, fullPage: true });

  step("the requester cannot approve it");
  await page.click(`.card[data-approval="${id}"] button.primary`);
  await page.waitForSelector(`.card[data-approval="${id}"] .error`);

  step("history lists the conversation with both messages");
  await page.click('nav a[data-view="history"]');
  await page.click("main table td a");
  await page.waitForSelector('.msg.user:has-text("scale nginx to 3 replicas")');

  step("log out, log in as the operator, approve it in the inbox");
  await page.click('header button:has-text("Log out")');
  await page.waitForSelector('input[name="password"]');
  await login(env("OPS_EMAIL"), env("OPS_PASSWORD"));
  await page.waitForSelector('nav a[data-view="approvals"] .badge:not([hidden])');
  await page.click('nav a[data-view="approvals"]');
  const inbox = await page.waitForSelector(`.card[data-approval="${id}"]`);
  if (!(await inbox.textContent()).includes("spec.replicas: 2 -> 3")) throw new Error("inbox card lacks the diff");
  await page.screenshot({ path: `${artifacts}/03-inbox.png`, fullPage: true });
  await page.click(`.card[data-approval="${id}"] button.primary`);

  step("see the result");
  await page.waitForSelector('.msg.bot .answer:has-text("3/3")', { timeout: 90_000 });
  await page.screenshot({ path: `${artifacts}/04-approved-result.png`, fullPage: true });

  step("ask for nginx's CPU over time: the answer comes with a sparkline of the series from Prometheus");
  await page.click('nav a[data-view="chat"]');
  await page.fill('input[name="message"]', "nginx cpu over the last 2 minutes");
  await page.click('.composer button[type="submit"]');
  const spark = await page.waitForSelector('.msg.bot:last-of-type figure.sparkline svg polyline');
  const pts = (await spark.getAttribute("points")).trim().split(" ").length;
  const label = await page.getAttribute('.msg.bot:last-of-type figure.sparkline svg', "aria-label");
  if (pts < 2 || !label.startsWith("CPU of nginx over 2m")) throw new Error(`sparkline: ${pts} points, label ${label}`);
  console.log(`sparkline: ${pts} points; ${label}`);
  await page.screenshot({ path: `${artifacts}/04b-sparkline.png`, fullPage: true });

  step("the audit tab is for admins only");
  if (await page.$('nav a[data-view="audit"]')) throw new Error("an operator sees the audit tab");

  step("the terminal: a shell in the nginx pod through pods/exec, typed into xterm");
  await page.click('nav a[data-view="terminal"]');
  await page.fill('input[name="pod"]', env("EXEC_POD"));
  await page.click('button:has-text("Open terminal")');
  await page.waitForSelector(".xterm-screen");
  await page.waitForSelector('span.meta:has-text("connected to")');
  await page.click(".xterm-screen");
  await page.keyboard.type("echo xterm-$((20+22))\n");
  await page.waitForFunction(() => document.querySelector(".xterm-rows")?.textContent?.includes("xterm-42"));
  await page.screenshot({ path: `${artifacts}/05-terminal.png`, fullPage: true });

  step("an admin sees the audit log with the approved change and the terminal session");
  await page.click('header button:has-text("Log out")');
  await page.waitForSelector('input[name="password"]');
  await login(env("ADMIN_EMAIL"), env("ADMIN_PASSWORD"));
  await page.click('nav a[data-view="audit"]');
  await page.waitForSelector('main table td:has-text("scale_app")');
  await page.waitForSelector('main table td:has-text("web_terminal")');
  await page.screenshot({ path: `${artifacts}/06-audit.png`, fullPage: true });

  step("the widget on another origin: log in, ask, get the cited answer");
  const wpage = await ctx.newPage();
  wpage.setDefaultTimeout(60_000);
  wpage.on("pageerror", (e) => errors.push(String(e)));
  await wpage.goto(env("WIDGET_PAGE"));
  await wpage.click("#k8s-manage-widget >> .bubble");
  await wpage.fill('#k8s-manage-widget >> input[type="email"]', env("DEV_EMAIL"));
  await wpage.fill('#k8s-manage-widget >> input[type="password"]', env("DEV_PASSWORD"));
  await wpage.click("#k8s-manage-widget >> button.act");
  await wpage.fill('#k8s-manage-widget >> input[name="message"]', "怎么做金丝雀发布？");
  await wpage.press('#k8s-manage-widget >> input[name="message"]', "Enter");
  await wpage.waitForSelector("#k8s-manage-widget >> .chip");
  await wpage.screenshot({ path: `${artifacts}/07-widget.png` });
  const wAnswer = await wpage.locator("#k8s-manage-widget >> .msg.bot .answer").last();
  if (await wAnswer.locator("strong").count() === 0 || (await wAnswer.textContent()).includes("**")) {
    throw new Error(`the widget shows the answer as raw Markdown: ${await wAnswer.textContent()}`);
  }

  step("the API reference (Swagger UI, bundled) shows the contract's operations");
  const cspErrors = [];
  page.on("console", (m) => { if (m.type() === "error" && /Content Security Policy|Refused/.test(m.text())) cspErrors.push(m.text()); });
  await page.goto(base + "/api/docs");
  await page.waitForSelector('.opblock-summary-path[data-path="/chat"]');
  const ops = await page.locator(".opblock").count();
  console.log(`api docs: ${ops} operations`);
  if (ops < 15) throw new Error(`only ${ops} operations in the API reference`);
  if (cspErrors.length) throw new Error(`the API reference breaks the page's CSP: ${cspErrors.join("; ")}`);
  await page.screenshot({ path: `${artifacts}/08-api-docs.png` });

  if (errors.length) throw new Error(`page errors: ${errors.join("; ")}`);
  console.log("ok");
} catch (e) {
  console.error(`FAILED: ${e?.message || e}`);
  if (page) await page.screenshot({ path: `${artifacts}/failure.png`, fullPage: true }).catch(() => {});
  process.exitCode = 1;
} finally {
  await browser.close();
}
