/**
 * A step gate (PyTorch's found_inf, kept with the flat vectors): the NaN guard checks each
 * step's gradient and loss into it without reading anything back, and the fused Adam and SGD
 * steps read it where it lives and skip a non-finite step themselves. On a GPU the host then
 * never waits for a step's verdict: it reads the gate only when it wants the count.
 *
 * Layout (FlatOps.gateNonFinite): [0] the latest verdict, [1] hits, [2] and [3] the first and
 * latest hit's step + 1, [4] the loss the next check looks at, [5] steps the kernels skipped.
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { DeviceBuffer } from '../backend/device.js';
import { hostValues } from '../backend/host-backend.js';
import { GATE_LENGTH, type FlatOps, type FlatVector } from '../kernels/index.js';
import { deviceLink } from './device-link.js';

const LOSS_SLOT = 4;

export interface GateReading {
  /** The latest check found a NaN or ±Inf. */
  hit: boolean;
  /** Checks that found one since the gate was made. */
  hits: number;
  /** Steps the gated kernels skipped (a hit whose step the host did not run is not one). */
  skipped: number;
  /** The latest of those steps, or null. */
  lastStep: number | null;
  /** The loss of the latest check. */
  loss: number;
}

export class StepGate {
  readonly vector: FlatVector;
  /** The loss slot as a device view, made once (device path only). */
  private lossView: DeviceBuffer | null = null;

  constructor(readonly ops: FlatOps) {
    this.vector = ops.alloc(GATE_LENGTH);
  }

  /**
   * Queues the check of `grads` and `loss` (a scalar) for `step`: on the device backend the loss
   * moves by a device copy and nothing is read back.
   */
  check(grads: FlatVector, loss: tf.Tensor, step: number): void {
    const link = deviceLink(this.vector);
    if (link) {
      this.lossView ??= link.vector.view(LOSS_SLOT, 1);
      link.backend.copyInto([this.lossView], [loss]);
    } else {
      this.ops.upload(this.vector, Float32Array.of(hostValues(loss)[0]), LOSS_SLOT);
    }
    this.ops.gateNonFinite(this.vector, grads, step);
  }

  /** Reads the gate (on a GPU this waits for the work queued so far). */
  read(): GateReading {
    const g = this.ops.download(this.vector);
    return {
      hit: g[0] !== 0,
      hits: g[1],
      skipped: g[5],
      lastStep: g[3] > 0 ? g[3] - 1 : null,
      loss: g[LOSS_SLOT],
    };
  }

  dispose(): void {
    this.lossView = null;
    if (this.vector.alive) this.ops.free(this.vector);
  }
}
