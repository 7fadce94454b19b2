// Written by scripts/build.mjs from package.json's version: edit that, then build.
export const VERSION = '0.1.0';
