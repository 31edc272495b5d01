// The hook lists hops show (`["tc-ingress", "recv", "tc-egress"]`). Every hop that shows
// the same list shares one frozen array (read, never changed): most hops of most paths
// show one of a handful, and a list per hop was most of what building a path allocated.
// Lists and labels are numbered, so adding a record's hook to its hop's list is one lookup
// of a small number, not a search of the list and a lookup keyed by the list object.
import { decodeNfAux, Hook, hookName, nfHookName } from '../events/hooks.js';

/** the empty list's number: what a hop starts from */
export const NO_HOOKS = 0;

/** labels are numbered below this (each list number is scaled by it in `grown`'s keys):
 * there are at most 256 hooks and 2 × 256 netfilter ones */
const LABEL_SPAN = 4096;
/** past this many lists (a capture of every odd hook order there is) the tables start
 * over, between paths: lists handed out stay valid, only their numbers are forgotten */
const MAX_LISTS = 1 << 16;

let lists: (readonly string[])[] = [Object.freeze([])];
const labels: string[] = [];
/** label numbers: of the hooks other than netfilter by hook number (-1 until met)... */
const labelOfHook = new Int32Array(256).fill(-1);
/** ...and of netfilter's by its hook number and stage (aux: see decodeNfAux) */
const labelOfNf = new Map<number, number>();
/** list number × LABEL_SPAN + label number → the list with that label added (the list
 * itself when it has the label) */
let grown = new Map<number, number>();

function newLabel(text: string): number {
  labels.push(text);
  return labels.length - 1;
}

/** the label number of a record of `hook` (aux: its netfilter hook and stage) */
export function hookLabel(hook: number, aux: number): number {
  if (hook === Hook.NF) {
    // the hook number, and whether after NAT: what the label says
    const k = (aux & 0xff) | ((aux >>> 16) & 0xff ? 0x100 : 0);
    let n = labelOfNf.get(k);
    if (n === undefined) {
      const nf = decodeNfAux(aux);
      labelOfNf.set(k, (n = newLabel(`netfilter ${nfHookName[nf.hooknum] ?? nf.hooknum}${nf.stage === 'after' ? '' : ' (before NAT)'}`)));
    }
    return n;
  }
  const n = labelOfHook[hook & 0xff];
  return n >= 0 ? n : (labelOfHook[hook & 0xff] = newLabel(hookName[hook] ?? `hook-${hook}`));
}

/** the number of list `list` with label `label` added at its end, unless it has it */
export function withLabel(list: number, label: number): number {
  const k = list * LABEL_SPAN + label;
  let n = grown.get(k);
  if (n === undefined) {
    const have = lists[list];
    const text = labels[label];
    if (have.includes(text)) n = list;
    else {
      lists.push(Object.freeze([...have, text]));
      n = lists.length - 1;
    }
    grown.set(k, n);
  }
  return n;
}

/** the shared, frozen list numbered n */
export function hookList(n: number): string[] {
  return lists[n] as string[];
}

/** Called between paths: a path holds list numbers while it is built, so the tables only
 * start over when none is. */
export function boundHookLists(): void {
  if (lists.length < MAX_LISTS) return;
  lists = [lists[NO_HOOKS]];
  grown = new Map();
}
