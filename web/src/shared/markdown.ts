// Answers are Markdown: rendered with marked (GFM: tables, code, links) and sanitized with
// DOMPurify before they touch the page. Only a fixed set of tags survives, links keep only
// http(s)/mailto targets and open in a new tab, and knowledge citations ("[manual/canary]")
// become chips.
import { Marked } from "marked";
import DOMPurify from "dompurify";

const marked = new Marked({ gfm: true, breaks: true, async: false });

const purifier = DOMPurify();
purifier.addHook("afterSanitizeAttributes", (node) => {
  if (node instanceof HTMLAnchorElement) {
    node.setAttribute("target", "_blank");
    node.setAttribute("rel", "noopener noreferrer nofollow");
  }
});

const allowedTags = ["p", "br", "strong", "em", "del", "code", "pre", "blockquote", "ul", "ol", "li", "a", "h1", "h2", "h3", "h4", "h5", "h6",
  "table", "thead", "tbody", "tr", "th", "td", "hr"];

/** renderMarkdown turns an answer into sanitized DOM nodes. */
export function renderMarkdown(md: string): DocumentFragment {
  const html = marked.parse(md) as string;
  const frag = purifier.sanitize(html, {
    ALLOWED_TAGS: allowedTags,
    ALLOWED_ATTR: ["href", "title", "align"],
    ALLOWED_URI_REGEXP: /^(?:https?:|mailto:)/i,
    RETURN_DOM_FRAGMENT: true,
  }) as DocumentFragment;
  chips(frag);
  return frag;
}

const citation = /\[((?:manual|faq|runbook)[^\]\s]*)\]/g;

// chips replaces citation markers in text (not inside code or links) with chip elements.
function chips(root: Node) {
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  const texts: Text[] = [];
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const p = (n as Text).parentElement;
    if (p && p.closest("code, pre, a")) continue;
    if (citation.test((n as Text).data)) texts.push(n as Text);
    citation.lastIndex = 0;
  }
  for (const t of texts) {
    const parts: (Node | string)[] = [];
    let last = 0;
    for (const m of t.data.matchAll(citation)) {
      parts.push(t.data.slice(last, m.index));
      const chip = document.createElement("span");
      chip.className = "chip cite";
      chip.setAttribute("data-chunk", m[1]);
      chip.textContent = m[1];
      parts.push(chip);
      last = (m.index ?? 0) + m[0].length;
    }
    parts.push(t.data.slice(last));
    t.replaceWith(...parts);
  }
}
