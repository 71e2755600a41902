/** Atomic writes live in src/atomic.ts, below data/ (the image-folder cache writes with them too). */
export * from '../atomic.js';
