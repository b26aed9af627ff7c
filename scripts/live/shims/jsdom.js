// jsdom.js (shim): what kernel-model's createDocument() gets in the page's worker instead of
// jsdom (Node only, megabytes): linkedom, a small DOM that Observable Plot renders into. The
// figures leave the worker as HTML text (cells call .outerHTML), so a DOM without layout is
// enough; jsdom has no layout either.
import { parseHTML } from "linkedom";

export class JSDOM {
  constructor(html = "<!DOCTYPE html><html><body></body></html>") {
    this.window = parseHTML(html);
  }
}
