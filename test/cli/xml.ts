// A small well-formedness check for the XML reports (no XML parser among
// the dependencies): balanced tags, quoted attributes, known entities.
export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  text: string;
}

export function parseXml(src: string): XmlElement {
  let s = src.replace(/^<\?xml[^?]*\?>\s*/, '');
  const root: XmlElement = { name: '#document', attrs: {}, children: [], text: '' };
  const stack: XmlElement[] = [root];
  const unescape = (t: string): string => {
    if (/&(?!(amp|lt|gt|quot|apos|#\d+);)/.test(t)) throw new Error(`bad entity in ${JSON.stringify(t.slice(0, 40))}`);
    return t.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');
  };
  while (s.length) {
    const lt = s.indexOf('<');
    if (lt < 0) {
      if (s.trim()) throw new Error('text after the root element');
      break;
    }
    if (lt > 0) {
      const t = s.slice(0, lt);
      if (t.includes('>')) throw new Error('stray >');
      stack.at(-1)!.text += unescape(t);
    }
    s = s.slice(lt);
    const close = /^<\/([A-Za-z_][\w.-]*)\s*>/.exec(s);
    if (close) {
      const top = stack.pop()!;
      if (top.name !== close[1]) throw new Error(`</${close[1]}> closes <${top.name}>`);
      s = s.slice(close[0].length);
      continue;
    }
    const open = /^<([A-Za-z_][\w.-]*)((?:\s+[A-Za-z_][\w.-]*="[^"<]*")*)\s*(\/?)>/.exec(s);
    if (!open) throw new Error(`malformed tag at ${JSON.stringify(s.slice(0, 40))}`);
    const attrs: Record<string, string> = {};
    for (const m of open[2]!.matchAll(/([A-Za-z_][\w.-]*)="([^"]*)"/g)) attrs[m[1]!] = unescape(m[2]!);
    const el: XmlElement = { name: open[1]!, attrs, children: [], text: '' };
    stack.at(-1)!.children.push(el);
    if (!open[3]) stack.push(el);
    s = s.slice(open[0].length);
  }
  if (stack.length !== 1) throw new Error(`unclosed <${stack.at(-1)!.name}>`);
  if (root.children.length !== 1) throw new Error('not exactly one root element');
  return root.children[0]!;
}
