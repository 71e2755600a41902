/**
 * Multi-fidelity hyper-parameter search: successive halving, Hyperband, ASHA, the median stopping
 * rule and MORL's repeated-learning-rate fidelity, over search spaces of recipe fields, with
 * trials trained in worker threads. See README.md in this folder.
 */
export {
  Asha,
  MedianStopping,
  SCHEDULER_NAMES,
  SuccessiveHalving,
  bestTrial,
  createScheduler,
  hyperband,
  hyperbandBrackets,
  maxBracket,
  median,
  morl,
  rungResources,
  shaPlan,
  successiveHalving,
  type Fidelity,
  type Job,
  type MedianOptions,
  type Outcome,
  type RungPlan,
  type RungProgress,
  type RungResult,
  type Scheduler,
  type SchedulerName,
  type ShaOptions,
  type TrialState,
  type TrialStatus,
} from './schedulers.js';
export { drive, type DriveOptions } from './driver.js';
export {
  JOURNAL_FILE,
  readJournal,
  replayJournal,
  longerJournal,
  type JobDetail,
  type JournalEvent,
  type JournalSink,
} from './journal.js';
export {
  DISTRIBUTION_TYPES,
  applyConfig,
  parseSpace,
  readSpaceFile,
  sampleConfig,
  sampleDistribution,
  type Choice,
  type ParamDistribution,
  type LogUniform,
  type SearchSpace,
  type TrialConfig,
  type Uniform,
} from './space.js';
export { runTrialJob, trialData, type TrialRequest, type TrialResult } from './trial.js';
export {
  parseResources,
  plannedResource,
  resumeSearch,
  runSearch,
  workerEntry,
  searchChartPoints,
  searchProgress,
  trialDir,
  workerThreads,
  type ResumeSearchOptions,
  type SearchChartPoint,
  type SearchEvent,
  type SearchOptions,
  type SearchResult,
  type TrialRecord,
} from './search.js';
