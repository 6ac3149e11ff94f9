#!/usr/bin/env node
// The installed `cspec` command: a file that exists before the build, so npm can link it on install.
import '../dist/bin.js';
