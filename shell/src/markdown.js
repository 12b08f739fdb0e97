// [SECTION] The guidelines' Markdown subset (docs/SCHEMA.md section 14) rendered with DOM nodes
// only: every piece of text enters through textContent, never as HTML, because the text comes
// from a server and Polymark is embedded in portals. Headings, paragraphs, bold, italic, code
// (inline and fenced), lists, links (http and https only; others stay text) and images naming
// the version's files (image(name, alt) makes the element). Anything else is shown as written.

const HEADING = /^(#{1,6})\s+(.*?)\s*#*\s*$/;
const BULLET = /^\s*[-*+]\s+(.*)$/;
const NUMBERED = /^\s*(\d{1,9})[.)]\s+(.*)$/;
const FENCE = /^\s*(```|~~~)/;
// The first inline token: code, image, link, bold, italic (_ only between non-word characters).
const INLINE = /(`+)([\s\S]*?[^`])\1(?!`)|!\[([^\]]*)\]\(\s*([^)\s]+)\s*\)|\[([^\]]+)\]\(\s*([^)\s]+)\s*\)|\*\*([\s\S]+?)\*\*|(?<![\w])__([\s\S]+?)__(?![\w])|\*([^*\s][^*]*?)\*|(?<![\w])_([^_\s][^_]*?)_(?![\w])/;

function node(tag, style) {
  const n = document.createElement(tag);
  if (style) n.style.cssText = style;
  return n;
}

// Only absolute http(s) URLs become links; javascript:, data:, relative and the rest stay text.
export function safeHref(url) {
  try {
    const u = new URL(url);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.href : null;
  } catch (e) {
    return null;
  }
}

function inline(parent, text, image, depth) {
  let rest = text;
  while (rest) {
    const m = depth < 8 ? INLINE.exec(rest) : null;
    if (!m) { parent.appendChild(document.createTextNode(rest)); return; }
    if (m.index > 0) parent.appendChild(document.createTextNode(rest.slice(0, m.index)));
    if (m[1]) {
      const code = node('code', 'font:0.92em ui-monospace,monospace;background:rgba(255,255,255,0.08);padding:0 3px;border-radius:3px;');
      code.textContent = m[2];
      parent.appendChild(code);
    } else if (m[4] !== undefined) {
      parent.appendChild(image(m[4], m[3]));
    } else if (m[6] !== undefined) {
      const href = safeHref(m[6]);
      if (href) {
        const a = node('a', 'color:#8ab4f8;');
        a.href = href;
        a.target = '_blank';
        a.rel = 'noopener noreferrer';
        inline(a, m[5], image, depth + 1);
        parent.appendChild(a);
      } else {
        parent.appendChild(document.createTextNode(m[0]));
      }
    } else if (m[7] !== undefined || m[8] !== undefined) {
      const b = node('strong');
      inline(b, m[7] !== undefined ? m[7] : m[8], image, depth + 1);
      parent.appendChild(b);
    } else {
      const i = node('em');
      inline(i, m[9] !== undefined ? m[9] : m[10], image, depth + 1);
      parent.appendChild(i);
    }
    rest = rest.slice(m.index + m[0].length);
  }
}

/**
 * Renders `text` into a new element.
 * @param {string} text the Markdown subset
 * @param {function(string, string): Element} image makes the element of image `name` with `alt`
 * @returns {Element}
 */
export function renderMarkdown(text, image) {
  const root = node('div');
  const lines = String(text).replace(/\r\n?/g, '\n').split('\n');
  let paragraph = [];
  let list = null;   // { el, ordered, item }
  const flush = () => {
    if (paragraph.length) {
      const p = node('p', 'margin:0 0 0.7em;');
      inline(p, paragraph.join(' '), image, 0);
      root.appendChild(p);
      paragraph = [];
    }
  };
  const endList = () => { list = null; };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (FENCE.test(line)) {
      flush(); endList();
      const fence = FENCE.exec(line)[1];
      const body = [];
      for (i++; i < lines.length && lines[i].trim().indexOf(fence) !== 0; i++) body.push(lines[i]);
      const pre = node('pre', 'margin:0 0 0.7em;padding:6px 8px;background:rgba(255,255,255,0.06);border-radius:4px;overflow:auto;font:12px ui-monospace,monospace;white-space:pre;');
      const code = node('code');
      code.textContent = body.join('\n');
      pre.appendChild(code);
      root.appendChild(pre);
      continue;
    }
    if (!line.trim()) { flush(); endList(); continue; }
    const h = HEADING.exec(line);
    if (h) {
      flush(); endList();
      const level = h[1].length;
      const el = node('h' + level, 'margin:0.8em 0 0.4em;line-height:1.25;font-size:' + [1.35, 1.2, 1.08, 1, 0.95, 0.9][level - 1] + 'em;');
      inline(el, h[2], image, 0);
      root.appendChild(el);
      continue;
    }
    const bullet = BULLET.exec(line);
    const numbered = bullet ? null : NUMBERED.exec(line);
    if (bullet || numbered) {
      flush();
      const ordered = !!numbered;
      if (!list || list.ordered !== ordered) {
        list = { el: node(ordered ? 'ol' : 'ul', 'margin:0 0 0.7em;padding-left:1.4em;'), ordered, item: null };
        if (ordered) list.el.start = Number(numbered[1]);
        root.appendChild(list.el);
      }
      list.item = node('li', 'margin:0.15em 0;');
      inline(list.item, bullet ? bullet[1] : numbered[2], image, 0);
      list.el.appendChild(list.item);
      continue;
    }
    if (list && /^\s+\S/.test(line) && list.item) {  // an indented line continues the item
      list.item.appendChild(document.createTextNode(' '));
      inline(list.item, line.trim(), image, 0);
      continue;
    }
    endList();
    paragraph.push(line.trim());
  }
  flush();
  return root;
}
