/** The provenance fields every hand-made result of the table tests carries (as writeResult's). */
export const PROVENANCE = {
  date: '2026-01-02T03:04:05.000Z',
  commit: '0123456789abcdef0123456789abcdef01234567',
  machine: { cpu: 'Test CPU', cores: 2, node: 'v20.0.0' },
  smoke: false,
};
