/** Swarm's rules for secret and config objects (swarmkit's controlapi). */

/** Swarm's name rule: letters, digits, '-', '_' and '.', starting and ending with a letter or digit, at most 64. */
export const fileObjectName = /^[a-zA-Z0-9](?:[a-zA-Z0-9_.-]{0,62}[a-zA-Z0-9])?$/;

/** Swarm's limit for both secrets and configs (MaxSecretSize, MaxConfigSize). */
export const maxFileObjectBytes = 500 * 1024;
