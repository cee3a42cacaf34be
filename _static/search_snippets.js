// Search-result snippets without raw TeX (issue 14).
//
// On search.html Sphinx's searchtools.js fetches each hit's HTML and shows 240 characters of the
// textContent of [role="main"] (Search.htmlToText). MathJax typesets math only on the page being
// viewed, so the fetched HTML still holds "\(\mathrm{softmax}(s)\)". This wraps Search.htmlToText to
// replace every math element by a plain-text reading of its TeX first.
// Jupyter Book loads every _static/*.js on every page (jupyter_book/config.py), before
// searchtools.js: `Search` exists only once the page is parsed, and Search.init (also at
// DOMContentLoaded) only starts the fetches, so wrapping then is in time.

(() => {
  // Plain text rather than "…": inline math is mostly short ("the $T_q \times T_k$ matrix"), and
  // "the T_q × T_k matrix" keeps the sentence's meaning where an ellipsis would drop it.
  const SYMBOLS = {
    alpha: "α", beta: "β", gamma: "γ", delta: "δ", epsilon: "ε", varepsilon: "ε", eta: "η",
    theta: "θ", lambda: "λ", mu: "μ", pi: "π", rho: "ρ", sigma: "σ", tau: "τ", phi: "φ",
    varphi: "φ", omega: "ω", Delta: "Δ", Theta: "Θ", Lambda: "Λ", Phi: "Φ", Omega: "Ω",
    top: "ᵀ", cdot: "·", times: "×", sum: "Σ", prod: "Π", partial: "∂", nabla: "∇", in: "∈",
    le: "≤", leq: "≤", ge: "≥", geq: "≥", ne: "≠", neq: "≠", approx: "≈", sim: "~",
    propto: "∝",
    infty: "∞", pm: "±", odot: "⊙", to: "→", rightarrow: "→", leftarrow: "←", mapsto: "↦",
    subset: "⊂", dots: "…", ldots: "…", cdots: "…", mid: "|", lVert: "‖", rVert: "‖",
    langle: "⟨", rangle: "⟩", ell: "ℓ",
  };

  const ACCENTS = {hat: "\u0302", tilde: "\u0303", bar: "\u0304"};  // combining marks: p̂, x̃, x̄

  function texToText(tex) {
    let s = tex.trim()
      .replace(/^\\[([]|\\[)\]]$/g, "")                      // \( \) \[ \] delimiters
      .replace(/\\(begin|end)\{[a-z*]+\}/g, "")              // split, aligned, ...
      .replace(/\\\\/g, "; ").replace(/&/g, "")              // rows of an aligned block
      .replace(/\\\{/g, "\uE000").replace(/\\\}/g, "\uE001")  // literal braces, kept apart from groups
      .replace(/\\\|/g, "‖").replace(/\\(left|right|[bB]ig+[lr]?)\b/g, "")  // sizing of brackets
      .replace(/\\!/g, "").replace(/\\[,;:]|\\q?quad\b/g, " ")   // spacing
      .replace(/\\(hat|tilde|bar)\s*(?:\{([a-zA-Z])\}|([a-zA-Z]))/g,
               (m, accent, x, y) => (x ?? y) + ACCENTS[accent])
      .replace(/\\([a-zA-Z]+)/g, (m, name) => SYMBOLS[name] ?? m)
      .replace(/\^ᵀ/g, "ᵀ");
    // Innermost brace groups first, so each rule sees arguments without braces.
    for (let before = ""; before !== s;) {
      before = s;
      s = s.replace(/\\[dt]?frac\s*\{([^{}]*)\}\s*\{([^{}]*)\}/g, (m, a, b) => `${group(a)}/${group(b)}`)
        .replace(/\\sqrt\s*\{([^{}]*)\}/g, (m, a) => `√${group(a)}`)
        // \mathrm{x}, \text{x}, \hat{xy}: x, xy
        .replace(/\\(?![dt]?frac\b|sqrt\b)[a-zA-Z]+\s*\{([^{}]*)\}/g, "$1")
        .replace(/([_^])\s*\{([^{}]*)\}/g, (m, op, a) => op + group(a, /^[\p{L}\p{N}\p{M}ᵀ′]*$/u))
        .replace(/(?<!\\[a-zA-Z]+\s*|\}\s*)\{([^{}]*)\}/g, "$1");
    }
    // Functions with no argument (\log, \ln, \max) read as their names; anything left loses its "\".
    return s.replace(/\\([a-zA-Z]+)/g, "$1").replace(/\\/g, "").replace(/\uE000/g, "{")
      .replace(/\uE001/g, "}").replace(/\s+/g, " ").trim();
  }

  // A group of more than one symbol keeps its extent as brackets: "(Q Kᵀ)/√d_k", "Σ_(i=1)", "e^(z_i)".
  const group = (a, simple = /^[\p{L}\p{N}\p{M}_.()ᵀ′√]*$/u) =>
    (simple.test(a.trim()) || /^\([^()]*\)$/.test(a.trim()) ? a.trim() : `(${a.trim()})`);

  // Sphinx writes math as <span class="math notranslate nohighlight">\(...\)</span> (inline) and
  // <div class="math ..." id="equation-..."><span class="eqno">(1)...</span>\[...\]</div> (displayed),
  // with no element nested in the TeX but the equation number. (MathJax's own mjx-container exists
  // only in a page the browser has typeset, never in the HTML that search fetches.)
  const MATH = /<(span|div)\b[^>]*\bclass="(?:[^"]*\s)?math(?:\s[^"]*)?"[^>]*>([\s\S]*?)<\/\1>/g;
  const ENTITIES = {amp: "&", lt: "<", gt: ">", quot: '"', "#39": "'", "#x27": "'"};
  const decode = (html) => html.replace(/&(amp|lt|gt|quot|#39|#x27);/g, (m, e) => ENTITIES[e]);
  const encode = (text) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

  document.addEventListener("DOMContentLoaded", () => {
    if (typeof DOCUMENTATION_OPTIONS === "undefined" || DOCUMENTATION_OPTIONS.pagename !== "search") return;
    if (typeof Search === "undefined" || typeof Search.htmlToText !== "function") return;
    const htmlToText = Search.htmlToText;
    // Rewriting the HTML text, not a parsed copy: parsing, serialising and parsing again made
    // htmlToText on ch04 (147 math elements) 46 -> 146 ms per hit; the text rewrite, 44 -> 65 ms.
    Search.htmlToText = (htmlString, ...rest) => htmlToText(htmlString.replace(MATH, (m, tag, inner) => {
      const tex = decode(inner.replace(/<span class="eqno">[\s\S]*?<\/span>/, "").replace(/<[^>]*>/g, ""));
      const pad = tag === "div" ? " " : "";  // a displayed equation is a block of its own
      return pad + encode(texToText(tex)) + pad;
    }), ...rest);
  });
})();
