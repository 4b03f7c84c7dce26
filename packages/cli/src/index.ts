/**
 * The `quiver` command: {@link main} runs it with the process's arguments, {@link createProgram}
 * builds the commander program (for embedding or testing).
 *
 * @packageDocumentation
 */
export { createProgram, main } from './program.js';
