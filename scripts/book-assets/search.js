// search.js: the book's search box. The index (assets/search-index.js, written by npm run book)
// is a script that sets window.BOOK_SEARCH, so this works from file:// with no server.
// Every word of the query must appear in a section; results link to the section's heading,
// best first (the words in the heading, then how often they occur).
(function () {
  "use strict";
  const MAX = 20;
  function esc(s) {
    return s.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
  }
  function snippet(text, word) {
    const i = text.toLowerCase().indexOf(word);
    const a = Math.max(0, i - 60);
    const s = text.slice(a, i + word.length + 80);
    const j = s.toLowerCase().indexOf(word);
    return (a > 0 ? "… " : "") + esc(s.slice(0, j)) + "<mark>" + esc(s.slice(j, j + word.length)) + "</mark>" + esc(s.slice(j + word.length)) + " …";
  }
  function search(q) {
    const words = q.toLowerCase().split(/\s+/).filter(Boolean);
    if (!words.length || !window.BOOK_SEARCH) return [];
    // rank: the query in the heading first, then by how often its words occur (book order on ties)
    const count = (t, w) => t.split(w).length - 1;
    return window.BOOK_SEARCH.map((e, i) => {
      const h = e.heading.toLowerCase();
      const t = e.text.toLowerCase();
      if (!words.every((w) => h.includes(w) || t.includes(w))) return null;
      const score = words.reduce((a, w) => a + 100 * count(h, w) + count(t, w), 0);
      return { e, words, score, i };
    }).filter(Boolean).sort((a, b) => b.score - a.score || a.i - b.i);
  }
  function init() {
    const input = document.getElementById("search");
    const list = document.getElementById("search-results");
    if (!input || !list) return;
    input.addEventListener("input", () => {
      const q = input.value.trim();
      if (q.length < 2) {
        list.hidden = true;
        list.innerHTML = "";
        return;
      }
      const found = search(q);
      list.innerHTML = found.length
        ? found.slice(0, MAX).map(({ e, words }) =>
            `<li><a href="${esc(e.href)}"><b>${esc(e.page)}</b> › ${esc(e.heading)}</a><br><span class="snippet">${snippet(e.text, words[0])}</span></li>`).join("") +
          (found.length > MAX ? `<li class="more">${found.length - MAX} more: add a word</li>` : "")
        : `<li class="none">No section mentions “${esc(q)}”.</li>`;
      list.hidden = false;
    });
    input.addEventListener("keydown", (ev) => {
      if (ev.key === "Escape") { input.value = ""; list.hidden = true; }
      if (ev.key === "Enter") { const a = list.querySelector("a"); if (a) location.href = a.href; }
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
