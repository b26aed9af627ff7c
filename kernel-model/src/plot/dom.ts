// dom.ts: the small DOM that Observable Plot builds a figure in, when no browser is there (Node:
// notebooks, the HTML book, tests; the live book's worker). Its outerHTML is what jsdom's is
// for the same calls, byte for byte (tested against jsdom on every figure of the book).
// No Linux file. Book: every Plot figure (§3.3.2, §3.3.3, §3.4.4, §3.5, §3.6).
//
// Interface:
// * createFigureDocument() -> a document with createElement, createElementNS, createTextNode
//   and documentElement (an <html> with <head> and <body>).
// * Nodes: elements and text, in a tree (appendChild, insertBefore, append, remove, ...);
//   attributes in the order they were first set (setAttribute, setAttributeNS, removeAttribute);
//   inline style (style.setProperty, style.maxWidth = ..., style.cssText); textContent;
//   querySelector/querySelectorAll/matches for simple selectors only (*, tag, .class, tag.class);
//   event listeners (addEventListener, dispatchEvent) without capture or bubbling.
// * outerHTML and innerHTML (read only): the HTML fragment serialization algorithm as parse5
//   (jsdom's serializer) implements it: attributes as set, `&"<>` and U+00A0 escaped in
//   attribute values, `&<>` and U+00A0 in text, except the text of an HTML <style>, <script>
//   (and the other raw-text elements); no end tag for HTML void elements.
// * Not there: parsing (innerHTML =), CSS (getComputedStyle, the cascade), layout (getBBox; jsdom
//   has none either). A figure needs none of them: Plot computes every position itself.
//
// Why not jsdom: loading it takes ~0.7 s and its first window ~0.1 s, several times what the
// cell that draws a chapter's first figure spends on everything else (Plot's own load is ~0.1 s).

const XHTML = "http://www.w3.org/1999/xhtml";
const XML_NS = "http://www.w3.org/XML/1998/namespace";
const XMLNS_NS = "http://www.w3.org/2000/xmlns/";
const XLINK_NS = "http://www.w3.org/1999/xlink";

/** HTML elements serialized without an end tag (parse5's VOID_ELEMENTS). */
const VOID = new Set(["area", "base", "basefont", "bgsound", "br", "col", "embed", "frame", "hr", "img", "input", "keygen", "link", "meta", "param", "source", "track", "wbr"]);
/** HTML elements whose text is serialized as is (parse5's hasUnescapedText, scripting on). */
const RAW_TEXT = new Set(["style", "script", "xmp", "iframe", "noembed", "noframes", "plaintext", "noscript"]);

const ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\u00a0": "&nbsp;" };
const escapeText = (s: string) => s.replace(/[&<>\u00a0]/g, (c) => ESCAPES[c]);
const escapeAttr = (s: string) => s.replace(/[&"<>\u00a0]/g, (c) => ESCAPES[c]);

export const ELEMENT_NODE = 1;
export const TEXT_NODE = 3;
export const DOCUMENT_NODE = 9;

type Listener = ((e: unknown) => void) | { handleEvent(e: unknown): void };

/** Node: the tree (parent, children) and events. */
class FigNode {
  parentNode: FigElement | null = null;
  readonly childNodes: FigNode[] = [];
  private listeners?: Map<string, Listener[]>;
  constructor(readonly ownerDocument: FigureDocument, readonly nodeType: number) {}

  get parentElement(): FigElement | null {
    return this.parentNode;
  }
  get firstChild(): FigNode | null {
    return this.childNodes[0] ?? null;
  }
  get lastChild(): FigNode | null {
    return this.childNodes[this.childNodes.length - 1] ?? null;
  }
  get nextSibling(): FigNode | null {
    const p = this.parentNode;
    return p ? p.childNodes[p.childNodes.indexOf(this) + 1] ?? null : null;
  }
  get previousSibling(): FigNode | null {
    const p = this.parentNode;
    return p ? p.childNodes[p.childNodes.indexOf(this) - 1] ?? null : null;
  }
  /** Connected: in the document's tree (a figure being built is not, as in a browser). */
  get isConnected(): boolean {
    let n: FigNode | null = this;
    while (n.parentNode) n = n.parentNode;
    return n === this.ownerDocument.documentElement;
  }
  get textContent(): string {
    return this.childNodes.map((c) => c.textContent).join("");
  }
  set textContent(v: string | null) {
    for (const c of this.childNodes) c.parentNode = null;
    this.childNodes.length = 0;
    const s = v == null ? "" : String(v);
    if (s !== "") this.appendChild(this.ownerDocument.createTextNode(s));
  }
  appendChild<T extends FigNode>(node: T): T {
    return this.insertBefore(node, null);
  }
  insertBefore<T extends FigNode>(node: T, ref: FigNode | null): T {
    if (ref && (ref.parentNode as FigNode | null) !== this) throw new Error("insertBefore: the reference node is not a child of this node");
    if (node === ref) return node;
    for (let a: FigNode | null = this; a; a = a.parentNode) {
      if (a === node) throw new Error("insertBefore: a node cannot be inserted into itself");
    }
    if (!(this instanceof FigElement)) throw new Error("insertBefore: only elements have children here");
    node.remove();
    const i = ref ? this.childNodes.indexOf(ref) : this.childNodes.length;
    this.childNodes.splice(i, 0, node);
    node.parentNode = this;
    return node;
  }
  removeChild<T extends FigNode>(node: T): T {
    if ((node.parentNode as FigNode | null) !== this) throw new Error("removeChild: not a child of this node");
    node.remove();
    return node;
  }
  replaceChild<T extends FigNode>(node: FigNode, old: T): T {
    this.insertBefore(node, old);
    return this.removeChild(old);
  }
  remove(): void {
    const p = this.parentNode;
    if (!p) return;
    p.childNodes.splice(p.childNodes.indexOf(this), 1);
    this.parentNode = null;
  }
  /** ParentNode.append and ChildNode.replaceWith: strings become text nodes. */
  append(...nodes: (FigNode | string)[]): void {
    for (const n of nodes) this.appendChild(this.ownerDocument.toNode(n));
  }
  replaceWith(...nodes: (FigNode | string)[]): void {
    const p = this.parentNode;
    if (!p) return;
    const next = this.nextSibling;
    this.remove();
    for (const n of nodes) p.insertBefore(this.ownerDocument.toNode(n), next);
  }
  contains(other: FigNode | null): boolean {
    for (let n = other; n; n = n.parentNode) if (n === this) return true;
    return false;
  }
  /** Node.compareDocumentPosition, for two nodes of one tree (d3's selection.order). */
  compareDocumentPosition(other: FigNode): number {
    if (other === this) return 0;
    const path = (n: FigNode) => {
      const p: FigNode[] = [];
      for (let x: FigNode | null = n; x; x = x.parentNode) p.unshift(x);
      return p;
    };
    const a = path(this);
    const b = path(other);
    if (a[0] !== b[0]) return 1 | 32 | 2; // DISCONNECTED | IMPLEMENTATION_SPECIFIC | PRECEDING
    let i = 0;
    while (i < a.length && i < b.length && a[i] === b[i]) i++;
    if (i === a.length) return 16 | 4; // other is inside this: CONTAINED_BY | FOLLOWING
    if (i === b.length) return 8 | 2; // this is inside other: CONTAINS | PRECEDING
    const siblings = a[i - 1].childNodes;
    return siblings.indexOf(b[i]) > siblings.indexOf(a[i]) ? 4 : 2;
  }
  cloneNode(deep = false): FigNode {
    const c = this.shallowClone();
    if (deep) for (const child of this.childNodes) c.appendChild(child.cloneNode(true));
    return c;
  }
  protected shallowClone(): FigNode {
    throw new Error("cloneNode: not supported for this node");
  }
  addEventListener(type: string, fn: Listener | null): void {
    if (!fn) return;
    this.listeners ??= new Map();
    const l = this.listeners.get(type) ?? [];
    if (!l.includes(fn)) l.push(fn);
    this.listeners.set(type, l);
  }
  removeEventListener(type: string, fn: Listener | null): void {
    const l = this.listeners?.get(type);
    const i = l && fn ? l.indexOf(fn) : -1;
    if (i >= 0) l!.splice(i, 1);
  }
  /** Calls this node's listeners for event.type (no capture, no bubbling). */
  dispatchEvent(event: { type: string }): boolean {
    for (const fn of [...(this.listeners?.get(event.type) ?? [])]) {
      if (typeof fn === "function") fn.call(this, event);
      else fn.handleEvent(event);
    }
    return true;
  }
  /** This node as HTML (parse5's serializeNodes, for one node). */
  serialize(): string {
    return "";
  }
}

class FigText extends FigNode {
  constructor(doc: FigureDocument, public data: string) {
    super(doc, TEXT_NODE);
  }
  get nodeName(): string {
    return "#text";
  }
  get nodeValue(): string {
    return this.data;
  }
  set nodeValue(v: string) {
    this.data = String(v);
  }
  override get textContent(): string {
    return this.data;
  }
  override set textContent(v: string | null) {
    this.data = v == null ? "" : String(v);
  }
  protected override shallowClone(): FigNode {
    return new FigText(this.ownerDocument, this.data);
  }
  override serialize(): string {
    const p = this.parentNode;
    return p && p.namespaceURI === XHTML && RAW_TEXT.has(p.localName) ? this.data : escapeText(this.data);
  }
}

interface Attr {
  namespaceURI: string | null;
  prefix: string | null;
  localName: string;
  /** prefix:localName, or localName */
  name: string;
  value: string;
}

/** An element's inline style (CSSStyleDeclaration): declarations in the order first set,
 *  written back to the style attribute as jsdom writes them ("name: value; name2: value2;"). */
class FigStyle {
  private decls = new Map<string, { value: string; priority: string }>();
  constructor(private el: FigElement) {}
  getPropertyValue(name: string): string {
    return this.decls.get(name)?.value ?? "";
  }
  getPropertyPriority(name: string): string {
    return this.decls.get(name)?.priority ?? "";
  }
  setProperty(name: string, value: string | null, priority = ""): void {
    const v = value == null ? "" : String(value);
    if (v === "") return this.removeProperty(name) as unknown as void;
    this.decls.set(name, { value: v, priority: priority === "important" ? "important" : "" });
    this.sync();
  }
  removeProperty(name: string): string {
    const old = this.decls.get(name);
    if (!old) return ""; // nothing removed: the attribute stays as it is (or absent)
    this.decls.delete(name);
    this.sync();
    return old.value;
  }
  get cssText(): string {
    return [...this.decls].map(([k, d]) => `${k}: ${d.value}${d.priority ? " !important" : ""};`).join(" ");
  }
  set cssText(text: string) {
    this.parse(text);
    this.sync();
  }
  /** From the style attribute (setAttribute("style", ...)). */
  parse(text: string): void {
    this.decls.clear();
    for (const part of String(text).split(";")) {
      const i = part.indexOf(":");
      if (i < 0) continue;
      const name = part.slice(0, i).trim().toLowerCase();
      let value = part.slice(i + 1).trim();
      let priority = "";
      const m = /\s*!\s*important$/i.exec(value);
      if (m) (value = value.slice(0, m.index)), (priority = "important");
      if (name && value) this.decls.set(name, { value, priority });
    }
  }
  private sync(): void {
    this.el.setStyleAttribute(this.cssText);
  }
}

const kebab = (camel: string) => (camel === "cssFloat" ? "float" : camel.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`));

/** element.style: the declaration, with CSS properties as camelCase members (style.maxWidth). */
function styleProxy(s: FigStyle): FigStyle {
  return new Proxy(s, {
    get(t, k, r) {
      if (typeof k === "string" && !(k in t)) return t.getPropertyValue(kebab(k));
      const v = Reflect.get(t, k, t);
      return typeof v === "function" ? v.bind(t) : (void r, v);
    },
    set(t, k, v) {
      if (typeof k === "string" && !(k in t)) t.setProperty(kebab(k), v);
      else Reflect.set(t, k, v, t);
      return true;
    },
  });
}

/** A simple selector: *, tag, .class, tag.class (several classes allowed), or a list of them. */
function compileSelector(selector: string): (el: FigElement) => boolean {
  const alts = String(selector).split(",").map((s) => s.trim());
  const tests = alts.map((s) => {
    const m = /^(\*|[A-Za-z][\w-]*)?((?:\.[\w-]+)*)$/.exec(s);
    if (!s || !m || (!m[1] && !m[2])) {
      throw new Error(`kernel-model's figure DOM supports only simple selectors (*, tag, .class, tag.class), not ${JSON.stringify(selector)}`);
    }
    const tag = m[1] && m[1] !== "*" ? m[1] : null;
    const classes = m[2] ? m[2].slice(1).split(".") : [];
    return (el: FigElement) => {
      if (tag && (el.namespaceURI === XHTML ? el.localName !== tag.toLowerCase() : el.localName !== tag)) return false;
      if (classes.length === 0) return true;
      const have = (el.getAttribute("class") ?? "").split(/\s+/);
      return classes.every((c) => have.includes(c));
    };
  });
  return (el) => tests.some((t) => t(el));
}

class FigElement extends FigNode {
  private attrs: Attr[] = [];
  private styleDecl?: FigStyle;
  private styleView?: FigStyle;
  /** qualifiedName as created: what the serializer writes (jsdom's _qualifiedName). */
  readonly localName: string;
  readonly prefix: string | null;
  constructor(doc: FigureDocument, readonly namespaceURI: string | null, readonly qualifiedName: string) {
    super(doc, ELEMENT_NODE);
    const i = qualifiedName.indexOf(":");
    this.prefix = i >= 0 ? qualifiedName.slice(0, i) : null;
    this.localName = i >= 0 ? qualifiedName.slice(i + 1) : qualifiedName;
  }
  get tagName(): string {
    return this.namespaceURI === XHTML ? this.qualifiedName.toUpperCase() : this.qualifiedName;
  }
  get nodeName(): string {
    return this.tagName;
  }
  get children(): FigElement[] {
    return this.childNodes.filter((c): c is FigElement => c instanceof FigElement);
  }
  /** HTML elements of an HTML document take attribute names in lower case (DOM setAttribute). */
  private attrName(name: string): string {
    const n = String(name);
    return this.namespaceURI === XHTML ? n.toLowerCase() : n;
  }
  private find(name: string): Attr | undefined {
    const n = this.attrName(name);
    return this.attrs.find((a) => a.name === n);
  }
  get attributes(): readonly Attr[] {
    return this.attrs;
  }
  getAttribute(name: string): string | null {
    return this.find(name)?.value ?? null;
  }
  hasAttribute(name: string): boolean {
    return this.find(name) !== undefined;
  }
  setAttribute(name: string, value: unknown): void {
    const n = this.attrName(name);
    if (!/^[^\s"'>/=]+$/.test(n)) throw new Error(`setAttribute: ${JSON.stringify(name)} is not a valid attribute name`);
    const v = String(value);
    const a = this.attrs.find((x) => x.name === n);
    if (a) a.value = v;
    else this.attrs.push({ namespaceURI: null, prefix: null, localName: n, name: n, value: v });
    if (n === "style") this.style0().parse(v);
  }
  setAttributeNS(ns: string | null, qualifiedName: string, value: unknown): void {
    const i = qualifiedName.indexOf(":");
    const prefix = i >= 0 ? qualifiedName.slice(0, i) : null;
    const localName = i >= 0 ? qualifiedName.slice(i + 1) : qualifiedName;
    const v = String(value);
    const a = this.attrs.find((x) => x.namespaceURI === (ns || null) && x.localName === localName);
    if (a) a.value = v;
    else this.attrs.push({ namespaceURI: ns || null, prefix, localName, name: qualifiedName, value: v });
  }
  getAttributeNS(ns: string | null, localName: string): string | null {
    return this.attrs.find((x) => x.namespaceURI === (ns || null) && x.localName === localName)?.value ?? null;
  }
  removeAttribute(name: string): void {
    const n = this.attrName(name);
    const i = this.attrs.findIndex((a) => a.name === n);
    if (i >= 0) this.attrs.splice(i, 1);
    if (n === "style") this.styleDecl?.parse("");
  }
  get id(): string {
    return this.getAttribute("id") ?? "";
  }
  set id(v: string) {
    this.setAttribute("id", v);
  }
  get className(): string {
    return this.getAttribute("class") ?? "";
  }
  set className(v: string) {
    this.setAttribute("class", v);
  }
  private style0(): FigStyle {
    return (this.styleDecl ??= new FigStyle(this));
  }
  get style(): FigStyle {
    return (this.styleView ??= styleProxy(this.style0()));
  }
  /** element.style = "a: b" (Plot's style option as a string) sets the cssText. */
  set style(text: string) {
    this.style0().cssText = text;
  }
  /** FigStyle writes its declarations back here, keeping the attribute's place. */
  setStyleAttribute(text: string): void {
    const a = this.attrs.find((x) => x.name === "style" && x.namespaceURI === null);
    if (a) a.value = text;
    else this.attrs.push({ namespaceURI: null, prefix: null, localName: "style", name: "style", value: text });
  }
  matches(selector: string): boolean {
    return compileSelector(selector)(this);
  }
  /** Descendant elements in document order (preorder). */
  private *descendants(): Generator<FigElement> {
    for (const c of this.childNodes) {
      if (c instanceof FigElement) {
        yield c;
        yield* c.descendants();
      }
    }
  }
  querySelector(selector: string): FigElement | null {
    const test = compileSelector(selector);
    for (const e of this.descendants()) if (test(e)) return e;
    return null;
  }
  querySelectorAll(selector: string): FigElement[] {
    const test = compileSelector(selector);
    return [...this.descendants()].filter(test);
  }
  /** <canvas>: none here (Plot's continuous colour legend draws its ramp on one; jsdom has no
   *  canvas either, without the canvas package). */
  getContext(): never {
    throw new Error("kernel-model's figure DOM has no canvas (a continuous colour legend needs one): use legend: false, or a discrete scale");
  }
  protected override shallowClone(): FigNode {
    const c = new FigElement(this.ownerDocument, this.namespaceURI, this.qualifiedName);
    for (const a of this.attrs) c.attrs.push({ ...a });
    const s = this.getAttribute("style");
    if (s !== null) c.style0().parse(s);
    return c;
  }
  get outerHTML(): string {
    return this.serialize();
  }
  get innerHTML(): string {
    return this.childNodes.map((c) => c.serialize()).join("");
  }
  set innerHTML(_: string) {
    throw new Error("kernel-model's figure DOM does not parse HTML (innerHTML =); build the nodes with createElement");
  }
  set outerHTML(_: string) {
    throw new Error("kernel-model's figure DOM does not parse HTML (outerHTML =)");
  }
  override serialize(): string {
    let html = `<${this.qualifiedName}`;
    for (const a of this.attrs) html += ` ${serializedAttrName(a)}="${escapeAttr(a.value)}"`;
    html += ">";
    if (this.namespaceURI === XHTML && VOID.has(this.qualifiedName)) return html;
    for (const c of this.childNodes) html += c.serialize();
    return `${html}</${this.qualifiedName}>`;
  }
}

/** parse5's serializeAttributes: xml:, xmlns:, xlink: by namespace; else prefix:name or name. */
function serializedAttrName(a: Attr): string {
  switch (a.namespaceURI) {
    case null:
      return a.localName;
    case XML_NS:
      return `xml:${a.localName}`;
    case XMLNS_NS:
      return a.localName === "xmlns" ? "xmlns" : `xmlns:${a.localName}`;
    case XLINK_NS:
      return `xlink:${a.localName}`;
    default:
      return `${a.prefix}:${a.localName}`;
  }
}

export class FigureDocument {
  readonly nodeType = DOCUMENT_NODE;
  readonly nodeName = "#document";
  readonly documentElement: FigElement;
  readonly head: FigElement;
  readonly body: FigElement;
  /** No window: nothing here computes styles or lays out. */
  readonly defaultView = null;
  constructor() {
    this.documentElement = this.createElement("html");
    this.head = this.documentElement.appendChild(this.createElement("head"));
    this.body = this.documentElement.appendChild(this.createElement("body"));
  }
  get ownerDocument(): null {
    return null;
  }
  /** An HTML element; the name in lower case, as an HTML document does. */
  createElement(name: string): FigElement {
    return new FigElement(this, XHTML, String(name).toLowerCase());
  }
  createElementNS(ns: string | null, qualifiedName: string): FigElement {
    return new FigElement(this, ns || null, String(qualifiedName));
  }
  createTextNode(data: string): FigText {
    return new FigText(this, String(data));
  }
  /** A string as a text node (ParentNode.append's rule). */
  toNode(n: FigNode | string): FigNode {
    return typeof n === "string" ? this.createTextNode(n) : n;
  }
  querySelector(selector: string): FigElement | null {
    const test = compileSelector(selector);
    return test(this.documentElement) ? this.documentElement : this.documentElement.querySelector(selector);
  }
  querySelectorAll(selector: string): FigElement[] {
    const test = compileSelector(selector);
    return [...(test(this.documentElement) ? [this.documentElement] : []), ...this.documentElement.querySelectorAll(selector)];
  }
}

/** A new figure document (module header). */
export function createFigureDocument(): FigureDocument {
  return new FigureDocument();
}
