/**
 * What the project uses of the `xpath` package, typed with xmldom's own DOM types. The package's
 * declarations begin with `/// <reference lib="dom" />`, which would lay the browser's typings over
 * the whole program (its ArrayBuffer-only BufferSource breaks Node's WebCrypto and Buffer use), so
 * tsconfig.json maps "xpath" here instead.
 */
import type { Node } from "@xmldom/xmldom";

export type SelectedValue = Node | string | number | boolean | null;

export interface XPathSelect {
  (expression: string, node: Node): Node[] | SelectedValue;
  (expression: string, node: Node, single: true): SelectedValue;
}

export function useNamespaces(namespaceMap: Record<string, string>): XPathSelect;
