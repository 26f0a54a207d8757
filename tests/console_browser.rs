//! The web console in a real headless Chromium driven over WebDriver (Debian's `chromium` and
//! `chromium-driver`, which `.ci/run` installs), against the real server: sign in, open a rule,
//! introduce a syntax error and see it at its line, fix it, activate a change, see the live
//! feed, and a viewer who cannot activate. Screenshots go to `target/console-*.png`.
//! Without chromedriver the test says SKIPPED, unless CLAIMSCRUB_REQUIRE_BROWSER=1 (CI) makes
//! that a failure.

mod support;

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::{TestServer, config_with_tokens};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const VIEWER: &str = "viewer-token-0123456789";
const EDITOR: &str = "editor-token-0123456789";
const EDITOR2: &str = "editor2-token-0123456789";
/// WebDriver's key codes.
const TAB: &str = "\u{E004}";
const ENTER: &str = "\u{E007}";

/// A JSON/HTTP API call as another client would make it (the "second session").
async fn api(http: SocketAddr, method: &str, token: &str, body: Value) -> Value {
    let body = body.to_string();
    let mut s = tokio::net::TcpStream::connect(http).await.unwrap();
    let req = format!(
        "POST /claimscrub.v1.RuleAdmin/{method} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Type: application/json\r\nAuthorization: Bearer {token}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let body = read_answer(&mut s).await;
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

/// Reads one HTTP/1.1 answer: the head, then the body by its Content-Length (chromedriver
/// keeps connections open whatever the request says), or to the end when it gives none.
async fn read_answer(s: &mut tokio::net::TcpStream) -> String {
    let mut raw = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        let n = s.read(&mut buf).await.unwrap();
        if n == 0 {
            break;
        }
        raw.extend_from_slice(&buf[..n]);
        if let Some(split) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
            if let Some(len) = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                && raw.len() >= split + 4 + len
            {
                break;
            }
        }
    }
    let text = String::from_utf8_lossy(&raw).to_string();
    text.split_once("\r\n\r\n")
        .map_or(String::new(), |(_, b)| b.to_string())
}

/// One WebDriver command (HTTP/1.1 + JSON), its `value`.
async fn wd(addr: SocketAddr, method: &str, path: &str, body: Option<Value>) -> Value {
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let body = tokio::time::timeout(Duration::from_secs(60), read_answer(&mut s))
        .await
        .expect("chromedriver answers");
    let v: Value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
    v["value"].clone()
}

struct Browser {
    driver: Child,
    addr: SocketAddr,
    session: String,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
    }
}

impl Browser {
    async fn start() -> Option<Browser> {
        let driver = [
            "chromedriver",
            "/usr/bin/chromedriver",
            "/usr/lib/chromium/chromedriver",
        ]
        .into_iter()
        .find(|p| Command::new(p).arg("--version").output().is_ok())?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(addr).await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let binary = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists())
            .unwrap_or("/usr/bin/chromium");
        let caps = json!({"capabilities": {"alwaysMatch": {"browserName": "chrome",
            "goog:chromeOptions": {"binary": binary, "args": ["--headless=new", "--no-sandbox",
                "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,1000"]}}}});
        let mut b = Browser {
            driver: child,
            addr,
            session: String::new(),
        };
        let v = wd(addr, "POST", "/session", Some(caps)).await;
        b.session = v["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {v}"))
            .to_string();
        Some(b)
    }

    async fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        wd(
            self.addr,
            method,
            &format!("/session/{}{path}", self.session),
            body,
        )
        .await
    }

    async fn go(&self, url: &str) {
        self.cmd("POST", "/url", Some(json!({"url": url}))).await;
    }

    /// Runs `script` in the page (WebDriver scripts are not subject to the page's CSP).
    async fn js(&self, script: &str) -> Value {
        self.cmd(
            "POST",
            "/execute/sync",
            Some(json!({"script": script, "args": []})),
        )
        .await
    }

    /// Runs `script` with `args` (`arguments[0]`, ...).
    async fn js_with(&self, script: &str, args: Value) -> Value {
        self.cmd(
            "POST",
            "/execute/sync",
            Some(json!({"script": script, "args": args})),
        )
        .await
    }

    /// Presses keys on the keyboard, one after another, to whatever has the focus: plain
    /// characters, or WebDriver key codes (`TAB`, `ENTER`).
    async fn keys(&self, text: &str) {
        let actions: Vec<Value> = text
            .chars()
            .flat_map(|c| {
                [
                    json!({"type": "keyDown", "value": c.to_string()}),
                    json!({"type": "keyUp", "value": c.to_string()}),
                ]
            })
            .collect();
        self.cmd(
            "POST",
            "/actions",
            Some(json!({"actions": [{"type": "key", "id": "keyboard", "actions": actions}]})),
        )
        .await;
    }

    /// The id (or `data-rule`) of the focused element.
    async fn focused(&self) -> String {
        self.js("const e = document.activeElement; return e ? (e.id || e.dataset.rule || e.tagName) : '';")
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Presses Tab until `id` has the focus (at most `max` times); false if it never does.
    async fn tab_to(&self, id: &str, max: usize) -> bool {
        for _ in 0..max {
            self.keys(TAB).await;
            if self.focused().await == id {
                return true;
            }
        }
        false
    }

    async fn element(&self, css: &str) -> String {
        let v = self
            .cmd(
                "POST",
                "/element",
                Some(json!({"using": "css selector", "value": css})),
            )
            .await;
        v.as_object()
            .and_then(|o| o.values().next())
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("no element {css}: {v}"))
            .to_string()
    }

    async fn click(&self, css: &str) {
        let id = self.element(css).await;
        self.cmd("POST", &format!("/element/{id}/click"), Some(json!({})))
            .await;
    }

    async fn type_into(&self, css: &str, text: &str) {
        let id = self.element(css).await;
        self.cmd(
            "POST",
            &format!("/element/{id}/value"),
            Some(json!({"text": text})),
        )
        .await;
    }

    /// Waits until `script` (an expression) is truthy in the page.
    async fn until(&self, what: &str, expr: &str) {
        let start = Instant::now();
        loop {
            let v = self.js(&format!("return !!({expr});")).await;
            if v == Value::Bool(true) {
                return;
            }
            if start.elapsed() > Duration::from_secs(20) {
                let body = self.js("return document.body.innerText;").await;
                self.screenshot("failure").await;
                panic!("timed out waiting for {what}; page says:\n{body}");
            }
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
    }

    async fn screenshot(&self, name: &str) {
        use base64::Engine;
        let v = self.cmd("GET", "/screenshot", None).await;
        if let Some(b64) = v.as_str()
            && let Ok(png) = base64::engine::general_purpose::STANDARD.decode(b64)
        {
            let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target");
            let _ = std::fs::create_dir_all(&dir);
            let _ = std::fs::write(dir.join(format!("console-{name}.png")), png);
        }
    }

    async fn sign_in(&self, url: &str, token: &str) {
        self.go(url).await;
        self.type_into("#token", token).await;
        self.click("#sign-in-form button[type=submit]").await;
    }
}

/// A claim for Try a claim: line 2 has zero units.
const TRY_CLAIM: &str = r#"{"claim": {"claimId": "TRY-1", "placeOfService": "11", "payer": {"payerId": "MCR01", "type": "PAYER_TYPE_MEDICARE"}, "billingProvider": {"npi": "1234567893"}, "patient": {"birthDate": "1950-03-01", "sex": "SEX_FEMALE"}, "diagnoses": [{"code": "E11.9"}], "lines": [{"lineNumber": 1, "procedureCode": "99213", "units": 1, "chargeCents": "15000", "serviceDate": "2025-07-01", "diagnosisPointers": [1]}, {"lineNumber": 2, "procedureCode": "97110", "units": 0, "chargeCents": "5000", "serviceDate": "2025-07-01", "diagnosisPointers": [1]}]}, "asOfDate": "2025-08-01"}"#;

/// The browser, or None when there is none here (a failure when CI requires one).
async fn browser_or_skip() -> Option<Browser> {
    let browser = Browser::start().await;
    if browser.is_none() {
        assert!(
            std::env::var("CLAIMSCRUB_REQUIRE_BROWSER").is_err(),
            "chromedriver is required (CLAIMSCRUB_REQUIRE_BROWSER=1)"
        );
        support::skipped("chromedriver not installed");
    }
    browser
}

/// A server with the bundled rules, three tokens (viewer ana, editors bo and cy) and the
/// HTTP listener; its directory, the server and the console's address.
async fn console_server() -> (tempfile::TempDir, TestServer, SocketAddr) {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config_with_tokens(
        dir.path(),
        &format!("viewer ana {VIEWER}\neditor bo {EDITOR}\neditor cy {EDITOR2}\n"),
    );
    let http = support::free_addr();
    c.http_listen = Some(http);
    let server = TestServer::start(c).await;
    support::wait_listening(http).await;
    (dir, server, http)
}

#[tokio::test]
async fn a_rule_author_edits_a_rule_in_the_browser() {
    let Some(browser) = browser_or_skip().await else {
        return;
    };
    let (_dir, _server, http) = console_server().await;
    let url = format!("http://{http}/");

    // Without a token: the sign-in page only.
    browser.go(&url).await;
    browser
        .until("the sign-in form", "document.getElementById('token')")
        .await;
    let app_hidden = browser
        .js("return document.getElementById('app').hidden;")
        .await;
    assert_eq!(app_hidden, Value::Bool(true));
    browser.screenshot("sign-in").await;

    // Sign in as an editor: who and role shown, the rules listed.
    browser.sign_in(&url, EDITOR).await;
    browser
        .until(
            "the signed-in name",
            "document.getElementById('who').textContent.includes('bo (editor)')",
        )
        .await;
    browser
        .until(
            "the rules table",
            "document.querySelector('tr[data-rule=\"units-positive\"]')",
        )
        .await;
    // The token is nowhere in the address.
    let href = browser.js("return location.href;").await;
    assert!(!href.as_str().unwrap().contains(EDITOR), "{href}");
    browser.screenshot("rules").await;

    // Open a rule; break it and see the error at its line; fix it.
    browser.click("tr[data-rule=\"units-positive\"]").await;
    browser
        .until(
            "the rule source",
            "document.getElementById('source').value.includes('fn check(claim)')",
        )
        .await;
    let line = browser
        .js("const v = document.getElementById('source').value; return v.slice(0, v.indexOf('fn check(claim)')).split('\\n').length;")
        .await
        .as_u64()
        .unwrap();
    browser
        .js("const t = document.getElementById('source'); t.value = t.value.replace('fn check(claim)', 'fn check(claim'); t.dispatchEvent(new Event('input')); return 1;")
        .await;
    browser
        .until(
            "the syntax error at its line",
            &format!("document.getElementById('diagnostics').textContent.includes('line {line},')"),
        )
        .await;
    let marked = browser
        .js("return document.querySelectorAll('#highlight .tok-err').length;")
        .await;
    assert_eq!(marked, json!(1), "the line is marked in the editor");
    browser.screenshot("syntax-error").await;
    browser
        .js("const t = document.getElementById('source'); t.value = t.value.replace('fn check(claim', 'fn check(claim)').replace('units must be more than zero', 'units must be at least one'); t.dispatchEvent(new Event('input')); return 1;")
        .await;
    browser
        .until(
            "the rule valid again",
            "document.getElementById('diagnostics').textContent.includes('No problems')",
        )
        .await;
    browser
        .until(
            "its test cases listed",
            "document.getElementById('test-results').textContent.includes('PASS')",
        )
        .await;

    // Dry run of the draft on a bundled sample claim.
    browser
        .until(
            "the samples offered",
            "document.querySelectorAll('#dry-run-sample option').length > 1",
        )
        .await;
    browser
        .js("document.getElementById('dry-run-box').open = true; const s = document.getElementById('dry-run-sample'); s.value = '0'; s.dispatchEvent(new Event('change')); return 1;")
        .await;
    browser
        .until(
            "the sample loaded",
            "document.getElementById('dry-run-claims').value.includes('DEMO-')",
        )
        .await;
    browser.click("#dry-run").await;
    browser
        .until(
            "the dry run's result",
            "document.getElementById('dry-run-result').textContent.includes('DEMO-')",
        )
        .await;
    // The same dry run on an X12 837 pasted in: its claims are read and run.
    let mut zero = support::clean_claim("X12-DRY");
    zero.lines[0].units = 0.0;
    let x12 = claimscrub::x12::write::interchange_837p(&[zero]);
    browser
        .js_with(
            "document.getElementById('dry-run-claims').value = arguments[0]; return 1;",
            json!([x12]),
        )
        .await;
    browser.click("#dry-run").await;
    browser
        .until(
            "the X12 claim's dry run",
            "/X12-DRY: lines 1: .*bills 0 units/.test(document.getElementById('dry-run-result').textContent)",
        )
        .await;

    // Activate: accepted, and the live feed shows it.
    browser.type_into("#comment", "clearer message").await;
    browser.click("#activate").await;
    browser
        .until(
            "activation",
            "document.getElementById('editor-message').textContent.includes('Activated version')",
        )
        .await;
    browser.click("nav button[data-tab=live]").await;
    browser
        .until(
            "the live event",
            "document.getElementById('events').textContent.includes('units-positive')",
        )
        .await;
    browser.screenshot("live").await;

    // A second session changes the rule while the first edits it: the first gets the conflict
    // view (who, their change) and keeps its text; building on their version then activates.
    browser.click("nav button[data-tab=rules]").await;
    browser
        .js("const t = document.getElementById('source'); t.value = t.value.replace('units must be at least one', 'units must be one or more'); t.dispatchEvent(new Event('input')); return 1;")
        .await;
    let live = api(http, "GetRule", EDITOR2, json!({"id": "units-positive"})).await;
    let theirs = live["source"]
        .as_str()
        .unwrap()
        .replace("at least one", "at least 1");
    let put = api(
        http,
        "PutRule",
        EDITOR2,
        json!({"id": "units-positive", "source": theirs, "tests": live["tests"],
               "expectedVersion": live["rule"]["version"], "comment": "cy's wording"}),
    )
    .await;
    assert_eq!(put["accepted"], json!(true), "{put}");
    browser.click("#activate").await;
    browser
        .until("the conflict view", "document.getElementById('editor-message').textContent.includes('cy changed this rule')")
        .await;
    let kept = browser
        .js("return document.getElementById('source').value.includes('one or more');")
        .await;
    assert_eq!(kept, Value::Bool(true), "the author's text is kept");
    let diff = browser
        .js("return document.getElementById('diff').textContent;")
        .await;
    assert!(
        diff.as_str().unwrap().contains("at least 1"),
        "their change is shown: {diff}"
    );
    browser.screenshot("conflict").await;
    browser.click("#editor-message button").await;
    browser.click("#activate").await;
    browser
        .until(
            "activation over theirs",
            "document.getElementById('editor-message').textContent.includes('Activated version')",
        )
        .await;

    // History and a one-click rollback.
    browser.click("#history").await;
    browser
        .until(
            "the history",
            "document.querySelectorAll('#history-list li').length >= 3",
        )
        .await;
    browser
        .click("#history-list li:nth-child(1) button.show-version")
        .await;
    browser
        .until(
            "the version's diff",
            "document.getElementById('diff').textContent.includes('at least 1')",
        )
        .await;
    browser.screenshot("history").await;
    browser
        .click("#history-list li:nth-child(2) button.edit-only")
        .await;
    browser
        .until(
            "the rollback",
            "document.getElementById('editor-message').textContent.includes('Rolled back')",
        )
        .await;
    let live = api(http, "GetRule", EDITOR, json!({"id": "units-positive"})).await;
    assert!(
        live["source"].as_str().unwrap().contains("at least 1"),
        "rolled back to cy's version"
    );

    // Try a claim: zero units gets the new message.
    browser.click("nav button[data-tab=try]").await;
    browser
        .js(&format!(
            "document.getElementById('claim-text').value = {}; return 1;",
            json!(TRY_CLAIM.to_string())
        ))
        .await;
    browser.click("#scrub").await;
    browser
        .until(
            "the findings",
            "document.getElementById('scrub-result').textContent.includes('units must be at least 1')",
        )
        .await;
    // The flagged line is highlighted in the lines table, and each line shows how it was
    // priced.
    let flagged = browser
        .js("return [...document.querySelectorAll('#scrub-result table.lines tr.flagged')].map((r) => r.cells[0].textContent + ' ' + r.cells[2].textContent);")
        .await;
    assert_eq!(flagged, json!(["2 units-positive"]));
    let trace = browser
        .js("return document.querySelector('#scrub-result table.lines tbody tr').textContent;")
        .await;
    assert!(
        trace.as_str().unwrap().contains("99213"),
        "line 1 is priced with a trace: {trace}"
    );
    browser
        .js("document.querySelector('#scrub-result .claim-result').scrollIntoView(); return 1;")
        .await;
    browser.screenshot("try-a-claim").await;

    // A viewer sees the rules but cannot activate.
    browser.js("sessionStorage.clear(); return 1;").await;
    browser.sign_in(&url, VIEWER).await;
    browser
        .until(
            "the viewer signed in",
            "document.getElementById('who').textContent.includes('ana (viewer)')",
        )
        .await;
    browser
        .until(
            "the rules table",
            "document.querySelector('tr[data-rule=\"units-positive\"]')",
        )
        .await;
    let disabled = browser
        .js("return document.getElementById('activate').disabled;")
        .await;
    assert_eq!(disabled, Value::Bool(true));
    browser.screenshot("viewer").await;
}

/// True when the page scrolls sideways (WCAG 1.4.10: content reflows at 200% zoom; wide
/// tables and code scroll inside their own boxes).
const SCROLLS_SIDEWAYS: &str =
    "return document.documentElement.scrollWidth > document.documentElement.clientWidth + 1;";

/// The elements that stick out to the right of the viewport, for a failure message.
const TOO_WIDE: &str = "const w = document.documentElement.clientWidth; return [...document.querySelectorAll('body *')].filter((e) => e.getBoundingClientRect().right > w + 1 && !e.closest('.code')).slice(0, 8).map((e) => e.tagName + '#' + e.id + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right));";

#[tokio::test]
async fn the_console_works_by_keyboard_alone_and_at_200_percent_zoom() {
    let Some(browser) = browser_or_skip().await else {
        return;
    };
    let (_dir, _server, http) = console_server().await;
    let url = format!("http://{http}/");
    browser.go(&url).await;
    browser
        .until("the sign-in form", "document.getElementById('token')")
        .await;

    // Every control has a name a screen reader reads: a label, an aria-label or its text.
    let unnamed = browser
        .js("return [...document.querySelectorAll('input, select, textarea, button')].filter((e) => !((e.labels && e.labels.length) || e.getAttribute('aria-label') || e.textContent.trim())).map((e) => e.id || e.outerHTML);")
        .await;
    assert_eq!(unnamed, json!([]), "controls without a name");

    // Sign in with the keyboard only: Tab to the token, type it, Enter.
    assert!(
        browser.tab_to("token", 5).await,
        "Tab reaches the token field"
    );
    browser.keys(&format!("{EDITOR}{ENTER}")).await;
    browser
        .until(
            "the signed-in name",
            "document.getElementById('who').textContent.includes('bo (editor)')",
        )
        .await;
    browser
        .until(
            "the rules table",
            "document.querySelector('tr[data-rule=\"units-positive\"]')",
        )
        .await;

    // Find a rule and open it: Tab to the filter, type, Tab to its row, Enter.
    assert!(
        browser.tab_to("rule-filter", 10).await,
        "Tab reaches the filter"
    );
    browser.keys("units-positive").await;
    browser.keys(TAB).await;
    assert_eq!(
        browser.focused().await,
        "units-positive",
        "Tab reaches the row"
    );
    let outline = browser
        .js("return getComputedStyle(document.activeElement).outlineStyle;")
        .await;
    assert_ne!(outline, json!("none"), "the focused row shows its focus");
    browser.keys(ENTER).await;
    browser
        .until(
            "the editor, focused",
            "document.activeElement.id === 'source' && document.getElementById('source').value.includes('fn check(claim)')",
        )
        .await;
    // Edit, say why and activate, all by keyboard.
    browser.keys(&format!("{ENTER}// reviewed{ENTER}")).await;
    assert!(
        browser.tab_to("comment", 15).await,
        "Tab leaves the editor for the comment"
    );
    browser.keys("keyboard review").await;
    assert!(browser.tab_to("activate", 3).await, "Tab reaches Activate");
    browser.keys(ENTER).await;
    browser
        .until(
            "activation",
            "document.getElementById('editor-message').textContent.includes('Activated version')",
        )
        .await;
    browser.screenshot("keyboard").await;

    // 200% zoom: a 1280×1000 window at twice the size is a 640×500 CSS-pixel viewport at a
    // device pixel ratio of 2 (what the browser's zoom does). Nothing needs sideways
    // scrolling of the page.
    browser
        .cmd(
            "POST",
            "/goog/cdp/execute",
            Some(json!({"cmd": "Emulation.setDeviceMetricsOverride",
                        "params": {"width": 640, "height": 500, "deviceScaleFactor": 2, "mobile": false}})),
        )
        .await;
    let width = browser.js("return window.innerWidth;").await;
    assert_eq!(width, json!(640), "the zoomed viewport");
    assert_eq!(
        browser.js(SCROLLS_SIDEWAYS).await,
        json!(false),
        "the rules page reflows; too wide: {}",
        browser.js(TOO_WIDE).await
    );
    browser.screenshot("zoom-200-rules").await;
    browser.click("nav button[data-tab=try]").await;
    browser
        .js(&format!(
            "document.getElementById('claim-text').value = {}; return 1;",
            json!(TRY_CLAIM)
        ))
        .await;
    browser.click("#scrub").await;
    browser
        .until(
            "the findings",
            "document.querySelector('#scrub-result table.lines')",
        )
        .await;
    assert_eq!(
        browser.js(SCROLLS_SIDEWAYS).await,
        json!(false),
        "Try a claim reflows; too wide: {}",
        browser.js(TOO_WIDE).await
    );
    browser
        .js("document.querySelector('#scrub-result .claim-result').scrollIntoView(); return 1;")
        .await;
    browser.screenshot("zoom-200-try").await;
}
