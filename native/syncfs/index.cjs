'use strict';
// The compiled binding (node-gyp, at install): { syncfs(fd: number): Promise<void> }.
module.exports = require('./build/Release/syncfs.node');
