'use strict';
// The compiled binding (node-gyp, at install): { linkBeneath(from, rootFd, rel): void }.
module.exports = require('./build/Release/beneath.node');
