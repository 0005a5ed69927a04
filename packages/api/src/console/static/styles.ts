/**
 * The console's stylesheet, served from the app (/console/static/console.css): no inline styles anywhere,
 * the CSP allows only this file. Plain CSS, system fonts, high-contrast verdict colours, visible focus.
 */
export const CONSOLE_CSS = `
:root { --fg:#1b1f24; --muted:#57606a; --line:#d0d7de; --bg:#fff; --soft:#f6f8fa; --accent:#0b5cad;
  --pass:#1a7f37; --pass-bg:#dafbe1; --review:#8a5a00; --review-bg:#fff3c4; --fail:#b42318; --fail-bg:#ffe2e0; }
* { box-sizing: border-box; }
body { margin:0; font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif; color:var(--fg); background:var(--bg); }
a { color:var(--accent); }
:focus-visible { outline:3px solid #f0a000; outline-offset:2px; }
header.top { display:flex; align-items:center; gap:1.5rem; padding:.6rem 1.2rem; background:#0d2a4a; color:#fff; flex-wrap:wrap; }
header.top a { color:#fff; }
header.top .brand { font-weight:700; text-decoration:none; letter-spacing:.02em; }
header.top nav ul { display:flex; gap:1rem; list-style:none; margin:0; padding:0; }
header.top nav a[aria-current=page] { text-decoration:underline; text-underline-offset:4px; }
header.top .who { margin-left:auto; display:flex; gap:.6rem; align-items:center; }
header.top .who small { opacity:.8; }
button.link { background:none; border:0; color:inherit; text-decoration:underline; cursor:pointer; font:inherit; padding:0; }
main { padding:1.2rem; max-width:1400px; margin:0 auto; }
h1 { font-size:1.45rem; margin:.2rem 0 .8rem; }
h2 { font-size:1.1rem; margin:1.4rem 0 .5rem; }
table { border-collapse:collapse; width:100%; }
th, td { border-bottom:1px solid var(--line); padding:.35rem .5rem; text-align:left; vertical-align:top; }
th { background:var(--soft); font-weight:600; }
td.num, th.num { text-align:right; font-variant-numeric:tabular-nums; }
code, .mono { font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace; font-size:.9em; }
.muted { color:var(--muted); }
.badge { display:inline-block; padding:.05rem .45rem; border-radius:999px; font-size:.8rem; font-weight:600; border:1px solid transparent; white-space:nowrap; }
.verdict-pass { color:var(--pass); background:var(--pass-bg); }
.verdict-review { color:var(--review); background:var(--review-bg); }
.verdict-fail { color:var(--fail); background:var(--fail-bg); }
.status-pending_review { background:#ddf4ff; color:#0a3069; }
.status-approved, .status-active { background:var(--pass-bg); color:var(--pass); }
.status-suspended, .status-pending { background:var(--review-bg); color:var(--review); }
.status-revoked, .status-expired { background:var(--fail-bg); color:var(--fail); }
.status-rejected, .status-cancelled { background:var(--fail-bg); color:var(--fail); }
.status-changes_requested, .status-withdrawn { background:var(--review-bg); color:var(--review); }
.mark-approve { color:var(--pass); } .mark-reject { color:var(--fail); } .mark-request_changes { color:var(--review); }
.cards { display:grid; grid-template-columns:repeat(auto-fit,minmax(260px,1fr)); gap:1rem; }
.card { border:1px solid var(--line); border-radius:8px; padding:.8rem 1rem; background:var(--bg); }
.card h2 { margin-top:0; }
dl.facts { display:grid; grid-template-columns:max-content 1fr; gap:.2rem .8rem; margin:0; }
dl.facts dt { color:var(--muted); }
dl.facts dd { margin:0; }
.actions { display:flex; flex-wrap:wrap; gap:.8rem; align-items:flex-start; margin:.6rem 0; }
.actions form { margin:0; }
button, .button { font:inherit; padding:.4rem .9rem; border-radius:6px; border:1px solid var(--line); background:var(--soft); color:var(--fg); cursor:pointer; text-decoration:none; display:inline-block; }
button.primary, .button.primary { background:var(--accent); border-color:var(--accent); color:#fff; }
button.danger { background:var(--fail); border-color:var(--fail); color:#fff; }
button.approve { background:var(--pass); border-color:var(--pass); color:#fff; }
button.changes { background:#fff; border-color:var(--review); color:var(--review); }
button:disabled { opacity:.55; cursor:not-allowed; }
.refused { display:flex; flex-direction:column; align-items:flex-start; gap:.2rem; }
.reason { color:var(--muted); margin:.1rem 0; }
.refused .reason { font-size:.9rem; max-width:32rem; }
kbd { border:1px solid var(--line); border-bottom-width:2px; border-radius:4px; padding:0 .3rem; font-size:.8rem; background:var(--soft); color:var(--fg); }
button kbd { background:rgba(255,255,255,.25); border-color:rgba(255,255,255,.6); color:inherit; }
button.changes kbd { background:var(--soft); border-color:var(--line); }
.notice { padding:.6rem .8rem; border-radius:6px; border:1px solid var(--line); }
.notice-ok { background:var(--pass-bg); border-color:#9be9a8; }
.notice-error { background:var(--fail-bg); border-color:#ffb8b0; }
.notice-info { background:#ddf4ff; border-color:#9cd1ff; }
.field-errors { color:var(--fail); }
.error-text { color:var(--fail); font-weight:600; margin:.3rem 0; }
.error-text:empty, .save-state:empty { display:none; }
form.stack { display:flex; flex-direction:column; gap:.7rem; max-width:52rem; }
form.stack label { display:flex; flex-direction:column; gap:.2rem; font-weight:600; }
form.stack label.inline { flex-direction:row; align-items:center; gap:.4rem; font-weight:400; }
form.stack label input, form.stack label select, form.stack label textarea { font-weight:400; }
input[type=text], input[type=number], input[type=datetime-local], input[type=search], select, textarea { font:inherit; padding:.35rem .5rem; border:1px solid var(--line); border-radius:6px; }
textarea { min-height:7rem; width:100%; }
textarea[aria-invalid=true], input[aria-invalid=true] { border-color:var(--fail); outline:2px solid var(--fail-bg); }
fieldset { border:1px solid var(--line); border-radius:8px; }
.filters { display:flex; flex-wrap:wrap; gap:.8rem; align-items:flex-end; margin-bottom:1rem; }
.filters label { display:flex; flex-direction:column; font-size:.85rem; color:var(--muted); gap:.15rem; }
.review-layout { display:grid; grid-template-columns:minmax(0,1fr) 22rem; gap:1.2rem; align-items:start; }
@media (max-width: 900px) { .review-layout { grid-template-columns:1fr; } }
.findings { position:sticky; top:.5rem; max-height:92vh; overflow:auto; }
.findings ol { padding-left:1.2rem; }
.findings li { margin-bottom:.5rem; }
.findings li.fail a { color:var(--fail); } .findings li.review a { color:var(--review); }
.sheet { overflow:auto; max-height:75vh; border:1px solid var(--line); border-radius:6px; padding-bottom:6rem; }
.textview.sheet { padding-bottom:6rem; }
.sheet table { width:auto; min-width:100%; }
.sheet th.rowno, .sheet td.rowno { color:var(--muted); background:var(--soft); text-align:right; position:sticky; left:0; width:3.5rem; z-index:2; }
.sheet thead th { position:sticky; top:0; z-index:3; }
.sheet thead th.rowno { z-index:4; }
table.activity td:nth-child(-n+4) { white-space:nowrap; }
table.audit td:nth-child(n+6) { overflow-wrap:anywhere; }
table.audit td:nth-child(2), table.audit td:nth-child(4) { white-space:nowrap; }
table.audit td:last-child { width:45%; }
.sheet td { white-space:pre-wrap; max-width:28rem; }
.flag { position:relative; cursor:help; }
.flag-fail { background:var(--fail-bg); box-shadow:inset 0 0 0 2px var(--fail); }
.flag-review { background:var(--review-bg); box-shadow:inset 0 0 0 2px #d4a72c; }
.flag .tip { display:none; position:absolute; left:0; top:100%; z-index:5; min-width:16rem; max-width:26rem; padding:.4rem .6rem; background:#1b1f24; color:#fff; border-radius:6px; font-size:.85rem; white-space:normal; font-weight:400; }
.flag:hover .tip, .flag:focus .tip, .flag:focus-within .tip { display:block; }
.flag:focus { outline:3px solid #f0a000; }
.textview { counter-reset:none; }
.textview ol { margin:0; padding:0 0 0 3.5rem; font-family:ui-monospace,Menlo,Consolas,monospace; font-size:.9rem; }
.textview li { white-space:pre-wrap; word-break:break-word; }
.textview li::marker { color:var(--muted); }
.figure img { max-width:100%; border:1px solid var(--line); background:repeating-conic-gradient(#eee 0 25%, #fff 0 50%) 50% / 16px 16px; }
.pager { display:flex; gap:.5rem; align-items:center; margin:.5rem 0; flex-wrap:wrap; }
.pager [aria-current=page] { font-weight:700; }
.filenav { display:flex; gap:.8rem; align-items:center; flex-wrap:wrap; margin:.4rem 0 .8rem; }
.marks { display:flex; gap:.5rem; flex-wrap:wrap; align-items:center; }
.help { font-size:.85rem; color:var(--muted); }
.diff-same-name { background:var(--review-bg); }
.error-page .reason { font-size:1.1rem; color:var(--fg); }
.sha { font-family:ui-monospace,Menlo,Consolas,monospace; font-size:.8rem; word-break:break-all; }
pre.json { background:var(--soft); padding:.8rem; border-radius:6px; overflow:auto; max-height:24rem; }
.save-state { font-size:.85rem; color:var(--muted); margin:0; }
.card h2 + p, .card dl + h2 { margin-top:.8rem; }
blockquote { margin:.3rem 0 .3rem 1rem; padding-left:.8rem; border-left:3px solid var(--line); }
`;

/** The tab icon: a shield, drawn in SVG (no script in it). */
export const FAVICON_SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><path d="M8 1 2 3v5c0 3.5 2.6 6 6 7 3.4-1 6-3.5 6-7V3z" fill="#0d2a4a"/></svg>';
