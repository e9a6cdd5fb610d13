export { main, bundledSamplePath, type Io } from './commands.js';
export { writeAtomically, writeBytes, tempPathFor } from './io.js';
export { loadOptionalBackends, backendLoadErrors } from './backends.js';
