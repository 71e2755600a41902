/**
 * The allocator of the wasm backend's linear memory. The kernels never allocate: every vector and
 * every per-call scratch block is a 16-byte aligned range handed out here, above the module's
 * static data. Freed ranges go to a free list (first fit, merged with their neighbours); the
 * memory grows when nothing fits, and the typed-array views are rebuilt after it grows.
 */
import { KernelError } from './errors.js';

/** A WebAssembly.Memory (typed locally: see wasm.ts). */
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}

const ALIGN = 16;
const PAGE = 65536;
const MAX_PAGES = 65536; // wasm32: 4 GiB

const alignUp = (bytes: number) => Math.ceil(bytes / ALIGN) * ALIGN;

interface Block {
  start: number;
  bytes: number;
}

export class Arena {
  private top: number;
  /** Free ranges below `top`, sorted by start, never adjacent (they are merged). */
  private readonly freeBlocks: Block[] = [];
  private readonly sizes = new Map<number, number>();
  private f32View: Float32Array;
  private u32View: Uint32Array;

  constructor(
    private readonly memory: WasmMemory,
    base: number,
  ) {
    this.top = alignUp(base);
    this.f32View = new Float32Array(memory.buffer);
    this.u32View = new Uint32Array(memory.buffer);
  }

  /** The whole memory as float32; a fresh view whenever the memory has grown. */
  get f32(): Float32Array {
    if (this.f32View.buffer !== this.memory.buffer)
      this.f32View = new Float32Array(this.memory.buffer);
    return this.f32View;
  }

  get u32(): Uint32Array {
    if (this.u32View.buffer !== this.memory.buffer)
      this.u32View = new Uint32Array(this.memory.buffer);
    return this.u32View;
  }

  /** Bytes handed out and not yet released. */
  get bytesInUse(): number {
    let sum = 0;
    for (const bytes of this.sizes.values()) sum += bytes;
    return sum;
  }

  /** A 16-byte aligned range of at least `bytes` bytes (at least 16); its contents are undefined. */
  alloc(bytes: number): number {
    const size = alignUp(Math.max(bytes, ALIGN));
    const k = this.freeBlocks.findIndex((b) => b.bytes >= size);
    let start: number;
    if (k >= 0) {
      const block = this.freeBlocks[k];
      start = block.start;
      if (block.bytes === size) this.freeBlocks.splice(k, 1);
      else {
        block.start += size;
        block.bytes -= size;
      }
    } else {
      start = this.top;
      this.ensureCapacity(start + size);
      this.top = start + size;
    }
    this.sizes.set(start, size);
    return start;
  }

  release(start: number): void {
    const bytes = this.sizes.get(start);
    if (bytes === undefined) throw new Error(`Arena.release: ${start} is not an allocated block`);
    this.sizes.delete(start);
    let k = this.freeBlocks.findIndex((b) => b.start > start);
    if (k < 0) k = this.freeBlocks.length;
    this.freeBlocks.splice(k, 0, { start, bytes });
    // Merge with the next block, then with the previous one.
    const block = this.freeBlocks[k];
    const next = this.freeBlocks[k + 1];
    if (next && block.start + block.bytes === next.start) {
      block.bytes += next.bytes;
      this.freeBlocks.splice(k + 1, 1);
    }
    const prev = this.freeBlocks[k - 1];
    if (prev && prev.start + prev.bytes === block.start) {
      prev.bytes += block.bytes;
      this.freeBlocks.splice(k, 1);
    }
    // A free block at the top gives its bytes back to the bump region.
    const last = this.freeBlocks[this.freeBlocks.length - 1];
    if (last && last.start + last.bytes === this.top) {
      this.top = last.start;
      this.freeBlocks.pop();
    }
  }

  private ensureCapacity(end: number): void {
    const have = this.memory.buffer.byteLength;
    if (end <= have) return;
    const pages = have / PAGE;
    const needed = Math.ceil((end - have) / PAGE);
    if (pages + needed > MAX_PAGES) {
      throw new KernelError(
        'ANNEAL_KERNEL_MEMORY',
        `wasm kernels: ${end} bytes of linear memory needed, but wasm32 memory stops at 4 GiB; ` +
          `free vectors you no longer use, or use the cuda kernels (ANNEAL_KERNELS=cuda).`,
      );
    }
    // Grow by a quarter more than needed so that a series of allocations grows rarely.
    const generous = Math.min(MAX_PAGES - pages, needed + (pages >> 2));
    try {
      this.memory.grow(generous);
    } catch {
      try {
        this.memory.grow(needed);
      } catch (e) {
        throw new KernelError(
          'ANNEAL_KERNEL_MEMORY',
          `wasm kernels: could not grow linear memory to ${end} bytes (${(e as Error).message}); ` +
            `free vectors you no longer use or make the model smaller.`,
        );
      }
    }
  }
}
