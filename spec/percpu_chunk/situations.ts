// percpu.c (seed 003): the chunk allocator's coverage situations, as
// predicates over steps (Situation in spec/policies/policy.ts). Most read
// what a step did (the function it entered, a mutex wait, the field it
// named); where the decision rests on a value no structure keeps (an
// allocation's result, how an area was fitted, what a free merged with),
// the step that computed it stamps it (chunk.ts `computed`).
import { Field } from '../kernel/fields.ts';
import type { StepView } from '../kernel/events.ts';
import type { Kernel } from '../kernel/kernel.ts';
import { Mutex } from '../kernel/mutex.ts';
import type { Situation } from '../policies/policy.ts';
import { computed, thisStep } from './chunk.ts';

/** The function that called the innermost copy of fn on the step's stack. */
function caller(x: StepView, fn: string): string | undefined {
  return x.fns[x.fns.lastIndexOf(fn) - 1];
}

/** Did the step enter fn (its first step in a call of it)? */
function entered(x: StepView, fn: string): boolean {
  return x.fns.lastIndexOf(fn) >= x.entered;
}

/** The step's GFP_KERNEL allocation (gfpKernel(), pcpu_realloc()): did it
 *  succeed? null: the step made none. */
function allocated(x: StepView, k: Kernel): boolean | null {
  return thisStep(computed.alloc, x, k) ? computed.alloc.ok : null;
}

// per context, of the kernel asked last: its __alloc_percpu() created a
// chunk (the scan of the slots is over); its pcpu_teardown()'s kills
let of: Kernel | null = null;
const newChunk = new Set<number>();
const teardownKills = new Map<number, number>();
function notes(k: Kernel): void {
  if (of === k) return;
  of = k;
  newChunk.clear();
  teardownKills.clear();
}

/** pcpu_alloc_area() called from __alloc_percpu()'s scan of the slots
 *  (not on the chunk it just created). */
function scanning(x: StepView, k: Kernel): boolean {
  notes(k);
  return caller(x, 'pcpu_alloc_area') === '__alloc_percpu' && !newChunk.has(x.id);
}

/** alloc_pcpu_chunk()'s get_vm_area(): its allocation after the first
 *  step's kzalloc of the chunk. */
function vmArea(x: StepView, k: Kernel): boolean | null {
  return entered(x, 'alloc_pcpu_chunk') ? null : allocated(x, k);
}

/** pcpu_alloc_area()'s fit of an area, decided in this step. */
function fit(x: StepView, k: Kernel): typeof computed.fit | null {
  return thisStep(computed.fit, x, k) ? computed.fit : null;
}
const FITTING = ['pcpu_alloc_area', 'pcpu_split_block', 'pcpu_realloc'];

/** The chunk allocator's situations (`optional`: counted, not expected). */
export function pcpuSituations(optional = false): Situation[] {
  const opt = (s: Situation): Situation => (optional ? { ...s, optional: true } : s);
  return [
    opt({
      name: 'pcpu-static-map-attached',
      text: 'pcpu_alloc_area() gave the static chunk its first map',
      fns: ['pcpu_realloc'],
      when: (x, k) => allocated(x, k) === true && caller(x, 'pcpu_realloc') === 'pcpu_alloc_area',
    }),
    opt({
      name: 'pcpu-map-grow',
      text: 'pcpu_split_block() grew a full map through pcpu_realloc()',
      fns: ['pcpu_realloc'],
      when: (x, k) => allocated(x, k) === true && caller(x, 'pcpu_realloc') === 'pcpu_split_block',
    }),
    opt({
      name: 'pcpu-chunk-created',
      text: '__alloc_percpu() found no space and created a chunk',
      fns: ['alloc_pcpu_chunk'],
      when: (x, k) => vmArea(x, k) === true,
    }),
    opt({
      name: 'pcpu-kill-free-chunk',
      text: 'free_percpu() killed another fully free chunk',
      entering: ['pcpu_kill_chunk'],
      when: (x) => caller(x, 'pcpu_kill_chunk') === 'free_percpu',
    }),
    opt({
      name: 'pcpu-populate-fails',
      text: 'pcpu_populate_chunk() failed and gave the range back',
      // its alloc_pages_node() failed (pcpu_map() cannot)
      fns: ['pcpu_populate_chunk'],
      when: (x, k) => allocated(x, k) === false,
    }),
    opt({
      name: 'pcpu-head-merge-prev-alloc',
      text: 'a head smaller than an int joined the allocated block before it',
      fns: FITTING,
      when: (x, k) => fit(x, k)?.headJoined === -1,
    }),
    opt({
      name: 'pcpu-tail-kept',
      text: 'a tail smaller than an int stayed with the area',
      fns: FITTING,
      when: (x, k) => fit(x, k)?.tailKept === true,
    }),
    opt({
      name: 'pcpu-split',
      text: 'pcpu_alloc_area() split a block',
      entering: ['pcpu_split_block'],
      when: (x) => caller(x, 'pcpu_split_block') === 'pcpu_alloc_area',
    }),
    opt({
      name: 'pcpu-hint-partial-scan',
      text: 'pcpu_alloc_area() hit before the last entry and only raised contig_hint',
      fns: ['pcpu_alloc_area'],
      when: (x, k) => thisStep(computed.partialScan, x, k),
    }),
    opt({
      name: 'pcpu-alloc-area-enospc',
      text: 'pcpu_alloc_area() scanned a chunk whose hint promised room and found none',
      // its `contig_hint = max_contig` after the full scan
      fns: ['pcpu_alloc_area'],
      when: (x, k) => x.target instanceof Field && x.target.field === 'contig_hint' && scanning(x, k),
    }),
    opt({
      name: 'pcpu-free-merge-prev',
      text: 'pcpu_free_area() merged with the free block before',
      fns: ['pcpu_free_area'],
      when: (x, k) => thisStep(computed.merge, x, k) && computed.merge.prev,
    }),
    opt({
      name: 'pcpu-free-merge-next',
      text: 'pcpu_free_area() merged with the free block after',
      fns: ['pcpu_free_area'],
      when: (x, k) => thisStep(computed.merge, x, k) && !computed.merge.prev,
    }),
    opt({
      name: 'pcpu-illegal-request',
      text: '__alloc_percpu() refused an illegal size or alignment',
      // its printk(): a step of its own code, before mutex_lock()
      entering: ['__alloc_percpu'],
      when: (x) => x.op === '',
    }),
    // counted, never expected
    {
      name: 'pcpu-chunk-vm-fails',
      text: "alloc_pcpu_chunk()'s get_vm_area() failed: the chunk is freed again",
      fns: ['alloc_pcpu_chunk'],
      optional: true,
      when: (x, k) => vmArea(x, k) === false,
    },
    {
      name: 'pcpu-size-zero',
      text: '__alloc_percpu() was asked for 0 bytes and returned NULL (no step of its own)',
      // read at the caller's next step, wherever it is: asked at every
      // step (one test of an empty map, in this family only)
      optional: true,
      when: (x, k) => {
        if (computed.sizeZeroPending === 0 || computed.sizeZeroOf !== k) return 0;
        const n = computed.sizeZero.get(x) ?? 0;
        if (n) {
          computed.sizeZero.delete(x);
          computed.sizeZeroPending--;
        }
        return n;
      },
    },
    {
      name: 'pcpu-mutex-contended',
      text: '__alloc_percpu() found pcpu_mutex held and waits',
      entering: ['__alloc_percpu'],
      optional: true,
      when: (x) => x.op === 'wait' && x.target instanceof Mutex,
    },
    {
      name: 'pcpu-alloc-area-enomem',
      text: "pcpu_alloc_area()'s map allocation failed during __alloc_percpu()'s scan: -ENOMEM",
      fns: ['pcpu_realloc'],
      optional: true,
      when: (x, k) => allocated(x, k) === false && x.fns.includes('pcpu_alloc_area') && scanning(x, k),
    },
    {
      name: 'pcpu-head-merge-prev-free',
      text: 'a head after a free block joined it',
      fns: FITTING,
      optional: true,
      when: (x, k) => fit(x, k)?.headJoined === 1,
    },
    {
      name: 'pcpu-page-populated',
      text: 'pcpu_populate_chunk() allocated a page for a CPU',
      fns: ['pcpu_populate_chunk'],
      optional: true,
      when: (x, k) => allocated(x, k) === true,
    },
    {
      name: 'pcpu-populate-fails-on-shared-page',
      text: 'pcpu_populate_chunk() failed on a range with a page another area already occupied',
      fns: ['pcpu_populate_chunk'],
      optional: true,
      when: (x, k) => allocated(x, k) === false && computed.sharedPage.has(x),
    },
    {
      name: 'pcpu-two-free-chunks-at-teardown',
      text: 'the teardown killed more than one fully free chunk',
      // its second pcpu_kill_chunk()
      entering: ['pcpu_kill_chunk', 'alloc_pcpu_chunk', '__alloc_percpu', 'pcpu_teardown'],
      optional: true,
      when: (x, k) => {
        notes(k);
        if (entered(x, '__alloc_percpu')) newChunk.delete(x.id);
        if (entered(x, 'alloc_pcpu_chunk') && caller(x, 'alloc_pcpu_chunk') === '__alloc_percpu') newChunk.add(x.id);
        if (entered(x, 'pcpu_teardown')) teardownKills.set(x.id, 0);
        if (!entered(x, 'pcpu_kill_chunk') || caller(x, 'pcpu_kill_chunk') !== 'pcpu_teardown') return false;
        const n = (teardownKills.get(x.id) ?? 0) + 1;
        teardownKills.set(x.id, n);
        return n === 2;
      },
    },
  ];
}

export const PCPU_SITUATIONS: readonly Situation[] = pcpuSituations();
