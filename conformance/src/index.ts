export { loadVectors, firstDifference, DEFAULT_VECTORS_DIR, type VectorSet, type ValidVector, type InvalidVector, type HeaderOnlyVector } from './vectors.js';
