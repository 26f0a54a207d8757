// claimscrub console: plain JavaScript, no libraries. Every call goes to the JSON/HTTP face of
// the API (Connect protocol) with the token from session storage as a bearer header.

const TOKEN_KEY = "claimscrub-token";
const $ = (id) => document.getElementById(id);
const state = { role: "", loaded: null, validateTimer: 0, watching: false };

class ApiError extends Error {
  constructor(body, status) {
    super(body.message || body.code || `HTTP ${status}`);
    this.code = body.code || "unknown";
    this.details = body.details || [];
  }
}

async function call(service, method, body) {
  const headers = { "Content-Type": "application/json" };
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) headers.Authorization = `Bearer ${token}`;
  const resp = await fetch(`/claimscrub.v1.${service}/${method}`, {
    method: "POST", headers, body: JSON.stringify(body || {}),
  });
  const data = await resp.json().catch(() => ({ code: "unknown", message: `HTTP ${resp.status}` }));
  if (!resp.ok) throw new ApiError(data, resp.status);
  return data;
}
const admin = (method, body) => call("RuleAdmin", method, body);

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") e.className = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const c of children.flat()) e.append(c instanceof Node ? c : document.createTextNode(String(c ?? "")));
  return e;
}

// A table row whose cells carry their column's name (shown before each cell when a narrow
// window stacks the table).
const row = (labels, attrs, cells) => el("tr", attrs, cells.map((c, i) => el("td", { "data-label": labels[i] }, c)));

// ---- sign in -------------------------------------------------------------------------------

async function signIn(token) {
  sessionStorage.setItem(TOKEN_KEY, token);
  try {
    const me = await admin("WhoAmI");
    state.role = me.role;
    $("who").textContent = `Signed in as ${me.name} (${me.role})`;
    $("sign-in").hidden = true;
    $("app").hidden = false;
    $("sign-out").hidden = false;
    document.body.dataset.role = me.role;
    for (const b of document.querySelectorAll(".edit-only")) b.disabled = me.role !== "editor";
    await loadRules();
    startWatching();
  } catch (e) {
    sessionStorage.removeItem(TOKEN_KEY);
    $("sign-in-error").textContent = e.code === "unauthenticated"
      ? "That token is not known to this server." : `Sign-in failed: ${e.message}`;
  }
}

$("sign-in-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const token = $("token").value.trim();
  $("token").value = "";
  signIn(token);
});
$("sign-out").addEventListener("click", () => {
  sessionStorage.removeItem(TOKEN_KEY);
  location.reload();
});

for (const b of document.querySelectorAll("nav button")) {
  b.addEventListener("click", () => {
    for (const o of document.querySelectorAll("nav button")) {
      const on = o === b;
      o.setAttribute("aria-pressed", String(on));
      $(`tab-${o.dataset.tab}`).hidden = !on;
    }
  });
}

// ---- rules list ----------------------------------------------------------------------------

function ruleState(r) {
  if (r.loadStatus && r.loadStatus !== "active" && r.loadStatus !== "loaded") return r.loadStatus;
  return r.enabled === false ? "disabled" : "active";
}

let allRules = [];
async function loadRules() {
  const [list, status] = await Promise.all([admin("ListRules"), admin("GetRulesetStatus")]);
  allRules = list.rules || [];
  renderRules();
  const errors = status.errors || [];
  $("load-errors").replaceChildren(...errors.map((e) =>
    el("p", { class: "bad" }, `Not loaded: ${e.file}: ${e.message}`)));
}

const RULE_COLUMNS = ["Rule", "Name", "Category", "Kind", "State", "Version", "Last change"];
function renderRules() {
  const q = $("rule-filter").value.trim().toLowerCase();
  const rows = allRules
    .filter((r) => !q || [r.id, r.name, r.category, r.kind, ruleState(r)].join(" ").toLowerCase().includes(q))
    .map((r) => {
      const tr = row(RULE_COLUMNS, { tabindex: "0", "data-rule": r.id || "", class: `state-${ruleState(r)}` }, [
        r.id || r.file, r.name, r.category, r.kind || "edit",
        [ruleState(r), r.lastError ? ` — ${r.lastError}` : ""],
        (r.version || "").slice(0, 12),
        r.lastChangedBy ? `${r.lastChangedBy}, ${r.lastChangedAt || ""}` : ""]);
      if (r.id) {
        tr.addEventListener("click", () => openRule(r.id));
        tr.addEventListener("keydown", (ev) => { if (ev.key === "Enter") openRule(r.id); });
      }
      return tr;
    });
  $("rule-table").tBodies[0].replaceChildren(...rows);
}
$("rule-filter").addEventListener("input", renderRules);

// ---- editor --------------------------------------------------------------------------------

const KEYWORDS = new Set(["let", "const", "fn", "if", "else", "for", "in", "while", "loop", "do",
  "until", "return", "true", "false", "break", "continue", "switch", "throw", "try", "catch",
  "import", "export", "as", "private", "this", "global"]);

function escapeHtml(s) {
  return s.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[c]));
}

// Rhai highlighting: comments, strings, numbers, keywords; lines with an error marked.
function highlight(src, errorLines) {
  const re = /(\/\/[^\n]*|\/\*[\s\S]*?\*\/)|("(?:[^"\\\n]|\\.)*"?|`[^`]*`?|'(?:[^'\\\n]|\\.)*'?)|(\b\d[\d_]*(?:\.\d+)?\b)|([A-Za-z_]\w*)/g;
  let out = "", last = 0, m;
  while ((m = re.exec(src))) {
    out += escapeHtml(src.slice(last, m.index));
    const t = escapeHtml(m[0]);
    if (m[1]) out += `<span class="tok-com">${t}</span>`;
    else if (m[2]) out += `<span class="tok-str">${t}</span>`;
    else if (m[3]) out += `<span class="tok-num">${t}</span>`;
    else if (KEYWORDS.has(m[4])) out += `<span class="tok-kw">${t}</span>`;
    else out += t;
    last = re.lastIndex;
  }
  out += escapeHtml(src.slice(last));
  return out.split("\n").map((line, i) =>
    errorLines.has(i + 1) ? `<span class="tok-err">${line || " "}</span>` : line).join("\n") + "\n";
}

function paint(errorLines = new Set()) {
  $("highlight").innerHTML = highlight($("source").value, errorLines);
  $("highlight").scrollTop = $("source").scrollTop;
  $("highlight").scrollLeft = $("source").scrollLeft;
}
$("source").addEventListener("scroll", () => {
  $("highlight").scrollTop = $("source").scrollTop;
  $("highlight").scrollLeft = $("source").scrollLeft;
});

function goToLine(line, column) {
  const ta = $("source");
  const lines = ta.value.split("\n");
  let pos = 0;
  for (let i = 0; i < line - 1 && i < lines.length; i++) pos += lines[i].length + 1;
  pos += Math.max(0, (column || 1) - 1);
  ta.focus();
  ta.setSelectionRange(pos, pos);
}

function showValidation(v) {
  const errors = v.errors || [];
  const lines = new Set(errors.filter((d) => d.line).map((d) => d.line));
  paint(lines);
  $("diagnostics").replaceChildren(
    errors.length === 0 && v.valid
      ? el("p", { class: "ok" }, "No problems: the rule compiles and its tests pass.")
      : el("ul", {}, errors.map((d) => el("li", { class: "bad" },
          d.line ? el("button", { type: "button", class: "diag", onclick: () => goToLine(d.line, d.column) },
            `line ${d.line}, column ${d.column || 1}`) : "", d.line ? ": " : "", d.message))));
  const tests = v.tests || [];
  $("test-results").replaceChildren(...(tests.length ? [el("h4", {}, `Test cases (${tests.filter((t) => t.passed).length} of ${tests.length} pass)`),
    el("ul", {}, tests.map((t) => el("li", { class: t.passed ? "ok" : "bad" },
      `${t.passed ? "PASS" : "FAIL"} ${t.name}`, t.message ? ` — ${t.message}` : "")))] : []));
}

async function validateNow() {
  try {
    showValidation(await admin("ValidateRule", { source: $("source").value, tests: $("tests").value }));
  } catch (e) {
    $("diagnostics").replaceChildren(el("p", { class: "bad" }, e.message));
  }
}
function scheduleValidate() {
  paint();
  clearTimeout(state.validateTimer);
  state.validateTimer = setTimeout(validateNow, 400);
}
$("source").addEventListener("input", scheduleValidate);
$("tests").addEventListener("input", scheduleValidate);

async function openRule(id) {
  const r = await admin("GetRule", { id });
  state.loaded = { id, version: r.rule?.version || "", source: r.source || "", tests: r.tests || "" };
  $("editor").hidden = false;
  $("editor-title").textContent = `${id} — ${r.rule?.name || ""}`;
  $("editor-meta").textContent = `${r.rule?.kind || "edit"} rule, ${ruleState(r.rule || {})}, version ${(r.rule?.version || "").slice(0, 12)}, file ${r.rule?.file || ""}`;
  $("source").value = state.loaded.source;
  $("tests").value = state.loaded.tests;
  $("editor-message").replaceChildren();
  $("diff").hidden = true;
  $("history-list").replaceChildren();
  paint();
  validateNow();
  $("source").focus();
}

// Line diff (longest common subsequence): "  " same, "- " removed, "+ " added.
function diffLines(a, b) {
  const x = a.split("\n"), y = b.split("\n");
  if (x.length * y.length > 4_000_000) return [["!", "too long to compare here"]];
  const n = x.length, m = y.length;
  const lcs = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--)
    lcs[i][j] = x[i] === y[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
  const out = [];
  let i = 0, j = 0;
  while (i < n && j < m) {
    if (x[i] === y[j]) { out.push([" ", x[i]]); i++; j++; }
    else if (lcs[i + 1][j] >= lcs[i][j + 1]) out.push(["-", x[i++]]);
    else out.push(["+", y[j++]]);
  }
  while (i < n) out.push(["-", x[i++]]);
  while (j < m) out.push(["+", y[j++]]);
  return out;
}

function showDiff(title, from, to) {
  const d = diffLines(from, to);
  const changed = d.filter(([k]) => k !== " ").length;
  $("diff").hidden = false;
  $("diff").replaceChildren(el("strong", {}, `${title} (${changed} changed line${changed === 1 ? "" : "s"})`), "\n",
    ...d.map(([k, line]) => el("span", { class: k === "+" ? "add" : k === "-" ? "del" : "" }, `${k} ${line}\n`)));
}

$("show-diff").addEventListener("click", async () => {
  const live = await admin("GetRule", { id: state.loaded.id });
  showDiff("Live version → your text", live.source || "", $("source").value);
});

function message(kind, ...parts) {
  $("editor-message").replaceChildren(el("p", { class: kind }, ...parts));
}

$("activate").addEventListener("click", async () => {
  const l = state.loaded;
  try {
    const r = await admin("PutRule", { id: l.id, source: $("source").value, tests: $("tests").value,
      expectedVersion: l.version, comment: $("comment").value });
    if (r.accepted) {
      state.loaded = { ...l, version: r.version, source: $("source").value, tests: $("tests").value };
      message("ok", `Activated version ${r.version.slice(0, 12)}; rule set ${r.rulesetVersion.slice(0, 12)}.`);
      loadRules();
    } else {
      showValidation({ valid: false, errors: r.errors, tests: r.tests });
      message("bad", "Not activated: fix the problems listed above. The live version is unchanged.");
    }
  } catch (e) {
    if (e.code === "failed_precondition" || e.code === "aborted") return conflict(e);
    message("bad", e.message);
  }
});

// Someone changed the rule since it was loaded: say who, show their change, keep the text.
async function conflict(e) {
  const [live, hist] = await Promise.all([admin("GetRule", { id: state.loaded.id }),
    admin("GetRuleHistory", { id: state.loaded.id })]);
  const last = (hist.versions || [])[0] || {};
  message("bad", `Not activated: ${last.author || "someone"} changed this rule (${last.action || "change"} at ${last.time || "?"}`,
    last.comment ? `, “${last.comment}”` : "", `) after you opened it. Your text is still in the editor. `,
    el("button", { type: "button", onclick: () => {
      state.loaded = { ...state.loaded, version: live.rule?.version || "", source: live.source || "", tests: live.tests || "" };
      message("warn", "Their version is now the base: Activate again to replace it with your text.");
    } }, "Build on their version"));
  showDiff(`Their change (${e.message})`, state.loaded.source, live.source || "");
}

async function action(method, verb) {
  try {
    await admin(method, { id: state.loaded.id, comment: $("comment").value });
    message("ok", `${verb}.`);
    await loadRules();
  } catch (e) { message("bad", e.message); }
}
$("disable").addEventListener("click", () => action("DisableRule", "Disabled"));
$("enable").addEventListener("click", () => action("EnableRule", "Enabled"));
$("shadow").addEventListener("click", () => action("ShadowRule", "Now in shadow: evaluated and recorded, never scored"));
$("make-active").addEventListener("click", () => action("ActivateRule", "Now active: its findings score claims"));
$("delete").addEventListener("click", () => {
  if (confirm(`Delete ${state.loaded.id}? Its versions stay in the history.`)) action("DeleteRule", "Deleted");
});

$("history").addEventListener("click", async () => {
  const h = await admin("GetRuleHistory", { id: state.loaded.id });
  $("history-list").replaceChildren(el("h4", {}, "History"), el("ol", {}, (h.versions || []).map((v) =>
    el("li", {}, `${v.time} ${v.action} by ${v.author}: ${(v.version || "").slice(0, 12)}`, v.comment ? ` “${v.comment}”` : "", " ",
      el("button", { type: "button", class: "show-version", onclick: async () => {
        const versions = h.versions || [];
        const older = versions[versions.indexOf(v) + 1];
        try {
          const [now, before] = await Promise.all([
            admin("GetRuleVersion", { id: state.loaded.id, version: v.version }),
            older ? admin("GetRuleVersion", { id: state.loaded.id, version: older.version }) : Promise.resolve({ source: "" }),
          ]);
          showDiff(`Version ${v.version.slice(0, 12)} against ${older ? older.version.slice(0, 12) : "nothing"}`, before.source || "", now.source || "");
        } catch (e) { message("bad", e.message); }
      } }, "What changed"), " ",
      el("button", { type: "button", class: "edit-only", ...(state.role !== "editor" ? { disabled: "" } : {}),
        onclick: async () => {
          try {
            await admin("RollbackRule", { id: state.loaded.id, version: v.version, comment: $("comment").value || `rollback to ${v.version.slice(0, 12)}` });
            await loadRules();
            await openRule(state.loaded.id);
            message("ok", `Rolled back to ${v.version.slice(0, 12)}.`);
          } catch (e) { message("bad", e.message); }
        } }, "Roll back to this")))));
});

// What a pasted or uploaded text is: an X12 837 interchange (starts with ISA), a FHIR
// resource (JSON with resourceType), or claims in the API's JSON shape.
function claimInput(text) {
  const t = text.replace(/^\uFEFF/, "").trim();
  if (t.startsWith("ISA")) {
    const bytes = new TextEncoder().encode(t);
    let bin = "";
    for (const b of bytes) bin += String.fromCharCode(b);
    return { kind: "x12", base64: btoa(bin) };
  }
  const json = JSON.parse(t || "[]");
  if (json && json.resourceType) return { kind: "fhir", text: t };
  return { kind: "json", claims: (Array.isArray(json) ? json : [json]).map((c) => (c.claim ? c : { claim: c })) };
}

// Dry run of the draft on claims (pasted JSON, X12 or FHIR, or a bundled sample): what it
// would find.
$("dry-run").addEventListener("click", async () => {
  const out = $("dry-run-result");
  try {
    const input = claimInput($("dry-run-claims").value);
    const req = { source: $("source").value, tests: $("tests").value };
    if (input.kind === "x12") req.sampleX12 = input.base64;
    else if (input.kind === "fhir") req.sampleFhir = input.text;
    else req.sampleClaims = input.claims;
    const v = await admin("ValidateRule", req);
    showValidation(v);
    out.replaceChildren(el("ul", {}, (v.samples || []).map((s) => el("li", { class: s.error ? "bad" : "" },
      `${s.claimId}: `, s.error ? s.error : (s.findings || []).length
        ? (s.findings || []).map((f) => `lines ${(f.lineNumbers || []).join(", ")}: ${f.message}`).join("; ")
        : "no findings"))));
  } catch (e) {
    out.replaceChildren(el("p", { class: "bad" }, e instanceof SyntaxError ? `Not JSON: ${e.message}` : e.message));
  }
});
$("dry-run-sample").addEventListener("change", async () => {
  const i = $("dry-run-sample").value;
  if (i === "") return;
  const samples = await (await fetch("/console/samples.json")).json();
  $("dry-run-claims").value = JSON.stringify(samples[Number(i)], null, 2);
});
fetch("/console/samples.json").then((r) => r.json()).then((samples) => {
  $("dry-run-sample").append(...samples.map((s, i) =>
    el("option", { value: String(i) }, (s.claim || s).claimId || (s.claim || s).claim_id || `sample ${i + 1}`)));
}).catch(() => {});

// ---- try a claim ---------------------------------------------------------------------------

$("claim-file").addEventListener("change", async () => {
  const f = $("claim-file").files[0];
  if (f) $("claim-text").value = await f.text();
});

const dollars = (cents) => `$${(Number(cents || 0) / 100).toFixed(2)}`;


// One claim's answer: the findings (severity, rule, lines, what, CARC/RARC, fix), then its
// lines with those a finding names highlighted, each with its price and the pricing trace.
// `claim` is the claim as sent (JSON input only), for the lines' codes.
function claimResult(resp, claim) {
  if (resp.error) {
    const v = resp.error.violations || [];
    return el("div", { class: "claim-result" },
      el("p", { class: "bad" }, `Claim ${resp.claimId || ""} not scrubbed: ${resp.error.message}`),
      v.length ? el("ul", {}, v.map((x) => el("li", {}, `${x.field}: ${x.description}`))) : "");
  }
  const f = resp.findings || [];
  const flagged = new Map();
  for (const x of f) for (const n of x.lineNumbers || []) flagged.set(n, [...(flagged.get(n) || []), x.ruleId]);
  const rowId = (n) => `line-${resp.claimId}-${n}`.replace(/[^\w-]/g, "_");
  const lineLink = (n) => el("a", { href: `#${rowId(n)}`, onclick: (ev) => {
    ev.preventDefault();
    const target = document.getElementById(rowId(n));
    if (target) { target.focus(); target.scrollIntoView({ block: "nearest" }); }
  } }, String(n));
  const FH = ["Severity", "Rule", "Lines", "What", "CARC / RARC", "Fix"];
  const findings = f.length ? el("div", { class: "scroll" }, el("table", { class: "findings stack" },
    el("caption", {}, `Findings (${f.length})`),
    el("thead", {}, el("tr", {}, FH.map((h) => el("th", { scope: "col" }, h)))),
    el("tbody", {}, f.map((x) => row(FH, { class: `sev-${(x.severity || "").replace("SEVERITY_", "").toLowerCase()}` }, [
      (x.severity || "").replace("SEVERITY_", ""), x.ruleId,
      (x.lineNumbers || []).length ? (x.lineNumbers || []).flatMap((n, i) => (i ? [", ", lineLink(n)] : [lineLink(n)])) : "claim",
      x.message,
      [x.carc || "", x.carcDescription ? ` ${x.carcDescription}` : "",
        ...(x.rarc || []).map((r, i) => ` — ${r}${(x.rarcDescriptions || [])[i] ? ` ${x.rarcDescriptions[i]}` : ""}`)],
      x.suggestion || ""]))))) : el("p", { class: "ok" }, "No findings.");
  const p = resp.pricing;
  const sent = new Map(((claim && claim.lines) || []).map((l, i) => [l.lineNumber || i + 1, l]));
  const LH = ["Line", "Code", "Flagged by", "Allowed", "Denial risk", "Expected", "How it was priced"];
  const lines = p && (p.lines || []).length ? el("div", { class: "scroll" }, el("table", { class: "lines stack" },
    el("caption", {}, `Lines and pricing${p.contractRuleId ? ` (contract ${p.contractRuleId})` : ""}: allowed ${dollars(p.totalAllowedCents)}, expected after risk ${dollars(p.expectedRevenueCents)}${p.complete ? "" : " (some lines unpriced)"}`),
    el("thead", {}, el("tr", {}, LH.map((h) => el("th", { scope: "col" }, h)))),
    el("tbody", {}, p.lines.map((l) => {
      const s = sent.get(l.lineNumber);
      const rules = flagged.get(l.lineNumber) || [];
      return row(LH, { id: rowId(l.lineNumber), tabindex: "-1", class: rules.length ? "flagged" : "" }, [
        String(l.lineNumber),
        s ? [s.procedureCode || s.procedure_code || "", ...(s.modifiers || [])].filter(Boolean).join("-") : "",
        rules.length ? rules.join(", ") : "—",
        l.allowedCents !== undefined ? dollars(l.allowedCents) : "unpriced",
        `${Math.round((l.denialProbability || 0) * 100)}%`,
        dollars(l.expectedCents),
        [el("ol", { class: "trace" }, (l.trace || []).map((t) => el("li", {}, t))),
          l.reason ? el("p", { class: "warn" }, l.reason) : "",
          l.feeSchedule ? el("p", { class: "hint" }, `${l.feeSchedule}${l.feeScheduleVersion ? ` (${l.feeScheduleVersion})` : ""}`) : ""]]);
    })))) : "";
  const sh = resp.shadowFindings || [];
  const shadow = sh.length ? el("details", { class: "shadow-findings" },
    el("summary", {}, `Rules in shadow would have said (${sh.length}; not scored)`),
    el("ul", {}, sh.map((x) => el("li", {},
      `${x.ruleId}: ${x.message}${(x.lineNumbers || []).length ? ` (lines ${x.lineNumbers.join(", ")})` : ""}`)))) : "";
  return el("div", { class: "claim-result" },
    el("h3", {}, `Claim ${resp.claimId}: denial risk ${Math.round((resp.denialRisk || 0) * 100)}% (${(resp.riskBand || "").replace("RISK_BAND_", "")})`),
    p && p.noContractNote ? el("p", { class: "warn" }, p.noContractNote) : "",
    findings, shadow, lines);
}

$("scrub").addEventListener("click", async () => {
  const asOfDate = $("as-of").value.trim();
  const out = $("scrub-result");
  try {
    const input = claimInput($("claim-text").value);
    let results;
    if (input.kind === "x12") {
      const r = await call("ClaimScrubber", "ScrubX12", { interchange: input.base64, asOfDate });
      results = (r.claims || []).map((c) => [c.response || {}, null]);
    } else if (input.kind === "fhir") {
      const r = await call("ClaimScrubber", "ScrubFhirClaim", { resource: input.text, asOfDate });
      results = (r.claims || []).map((c) => [c.response || {}, null]);
    } else {
      results = [];
      for (const req of input.claims) {
        if (asOfDate) req.asOfDate = asOfDate;
        results.push([await call("ClaimScrubber", "ScrubClaim", req), req.claim]);
      }
    }
    out.replaceChildren(...results.map(([resp, claim]) => claimResult(resp, claim)));
  } catch (e) {
    const fields = (e.details || []).flatMap((d) => d.debug?.fieldViolations || []);
    out.replaceChildren(el("p", { class: "bad" }, e instanceof SyntaxError ? `Not JSON: ${e.message}` : e.message),
      fields.length ? el("ul", {}, fields.map((v) => el("li", {}, `${v.field}: ${v.description}`))) : "");
  }
});

// ---- live ----------------------------------------------------------------------------------

async function showInForce() {
  const s = await admin("GetRulesetStatus");
  $("in-force").replaceChildren(el("p", {}, `Rule set ${s.rulesetVersion?.slice(0, 12)}: ${s.rules} rules from ${s.rulesLocation}, last reload ${s.lastReloadAt || "?"}.`),
    el("ul", {}, (s.tables || []).map((t) => el("li", {}, `${t.kind || ""} ${t.setting || ""}: ${t.version || ""}`))));
}

async function startWatching() {
  if (state.watching) return;
  state.watching = true;
  showInForce().catch(() => {});
  for (;;) {
    try {
      const resp = await fetch("/claimscrub.v1.RuleAdmin/WatchRuleEvents", {
        method: "POST",
        headers: { "Content-Type": "application/connect+json", Authorization: `Bearer ${sessionStorage.getItem(TOKEN_KEY)}` },
        body: new Uint8Array([0, 0, 0, 0, 2, 123, 125]),
      });
      const reader = resp.body.getReader();
      let buf = new Uint8Array(0);
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        const joined = new Uint8Array(buf.length + value.length);
        joined.set(buf); joined.set(value, buf.length);
        buf = joined;
        while (buf.length >= 5) {
          const len = new DataView(buf.buffer, buf.byteOffset + 1, 4).getUint32(0);
          if (buf.length < 5 + len) break;
          const flags = buf[0];
          const msg = JSON.parse(new TextDecoder().decode(buf.slice(5, 5 + len)));
          buf = buf.slice(5 + len);
          if (flags & 2) continue;
          $("events").prepend(el("li", {}, `${msg.time || new Date().toISOString()} ${msg.kind} ${msg.ruleId || msg.file || ""}`,
            msg.version ? ` → ${msg.version.slice(0, 12)}` : "", msg.message ? ` — ${msg.message}` : ""));
          showInForce().catch(() => {});
          loadRules().catch(() => {});
        }
      }
    } catch (e) { /* reconnect below */ }
    await new Promise((r) => setTimeout(r, 3000));
  }
}

// ---- start ---------------------------------------------------------------------------------

const saved = sessionStorage.getItem(TOKEN_KEY);
if (saved) signIn(saved);
