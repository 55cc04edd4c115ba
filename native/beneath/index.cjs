'use strict';
// The compiled binding (node-gyp, at install): { moveBeneath(from, rootFd, rel): void, openBeneath(rootFd, rel, flags): number }.
module.exports = require('./build/Release/beneath.node');
