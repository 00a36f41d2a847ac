import * as path from 'node:path';

/** The repository's root: the working directory for child scripts and `dist/` paths. */
export const ROOT = path.resolve(__dirname, '..', '..');

/** spec/fixtures: worker modules and child scripts the specs start. */
export const FIXTURES = path.join(ROOT, 'spec', 'fixtures');
