/**
 * Where a flat vector and the model's tensors live in the same addon's vectors (anneal-cuda
 * with the cuda kernels, anneal-cuda-host with the host ones), values move between them by
 * device copies and never cross to the host. deviceLink finds that case.
 */
import * as tf from '@tensorflow/tfjs-core';
import { AnnealDeviceBackend } from '../backend/device-backend.js';
import type { DeviceBuffer } from '../backend/device.js';
import { deviceVectorOf, type FlatVector } from '../kernels/index.js';

export interface DeviceLink {
  backend: AnnealDeviceBackend;
  vector: DeviceBuffer;
}

/** `v`'s DeviceVector and the active tfjs backend when they share an addon, else null. */
export function deviceLink(v: FlatVector): DeviceLink | null {
  const backend = tf.engine().backend;
  if (!(backend instanceof AnnealDeviceBackend)) return null;
  const under = deviceVectorOf(v);
  return under && under.addonFile === backend.addonFile
    ? { backend, vector: under.vector as DeviceBuffer }
    : null;
}
