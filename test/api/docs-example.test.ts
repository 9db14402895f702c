// docs/examples/assert-policy.test.ts runs in this repository's suite: it
// imports `allocspec` by its package name, as a user's test does.
import '../../docs/examples/assert-policy.test.ts';
