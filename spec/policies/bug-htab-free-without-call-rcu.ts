// Bug zoo, seed 001's flavour (1): free_htab_elem() kfree()s the element at
// once instead of queueing htab_elem_free_rcu() with call_rcu().
import { htabElemFreeRcu } from '../htab/kmalloc.ts';
import { kmallocCallRcu } from './kmalloc-call-rcu.ts';
import { definePolicy } from './policy.ts';

export const htabFreeWithoutCallRcu = definePolicy({
  ...kmallocCallRcu,
  name: 'bug/htab-free-without-call-rcu',
  summary: 'free_htab_elem() kfree()s the element at once: no grace period for the readers',
  bug: { invariants: ['RcuSafety', 'NoReuseBeforeGracePeriod'], why: 'a reader inside its RCU read-side section may still hold the element the kfree() gives back' },
  free: htabElemFreeRcu,
});
