// Offline stand-in for `utp-native` (see package.json). WebTorrent's lib/utp.cjs does
// `require('utp-native')` and sets UTP_SUPPORT = Object.keys(utp).length > 0, so an
// empty export means "no uTP" without the warning a failed require would print.
module.exports = {}
