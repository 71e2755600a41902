/** tfjs's fused activations as anneal_device.h numbers them; null: not fused natively. */
const ACTIVATIONS: Record<string, number> = {
  linear: 0,
  relu: 1,
  relu6: 2,
  elu: 3,
  leakyrelu: 4,
  sigmoid: 5,
};

export function nativeActivation(name: string | undefined): number | null {
  return ACTIVATIONS[name ?? 'linear'] ?? null;
}
