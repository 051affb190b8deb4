export { SopsDecryptor, decryptDocument, decryptObjects, decryptFilesInDir, isSopsEncrypted, formatForPath, DECRYPTION_FAILED_REASON } from './decryptor.ts';
export type { SopsFormat, SopsDecryptorOptions, DecryptObjectsOptions, DecryptFilesResult } from './decryptor.ts';
export { ageIdentitiesFromSecret, parseAgeKeyFile } from './metadata.ts';
