// Entry of an exploration worker thread when the worker bundle cannot be
// built (harness/bundle.ts): load the TypeScript sources through tsx (as
// bin/allocspec.mjs does), then serve jobs (harness/workers.ts).
import { register } from 'tsx/esm/api';

register();
const { serve } = await import('./workers.ts');
serve();
