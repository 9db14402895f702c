// Types of harness/bundle-cache.mjs.
export declare const ROOT: string;
export declare const CACHE_DIR: string;
export declare const FORMAT: string;
export declare const ENTRY: string;
export declare const ROOT_ID: string;
export declare const INPUTS: string;
export declare function isDependency(rel: string): boolean;
export declare function hashOf(inputs: readonly string[]): string | null;
export declare function bundleFile(hash: string): string;
export declare function freshBundle(): string | null;
export declare const STARTED_FROM: unique symbol;
