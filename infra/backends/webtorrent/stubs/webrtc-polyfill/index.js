// Offline stand-in for the `webrtc-polyfill` package (see package.json).
// @thaunknown/simple-peer does `import { RTCPeerConnection, ... } from 'webrtc-polyfill'`
// and sets `Peer.WEBRTC_SUPPORT = !!RTCPeerConnection`: exporting `undefined` makes
// WebTorrent treat this runtime as one without WebRTC (no WebRTC peers, no websocket
// trackers' offers), exactly as in a Node.js without a WebRTC implementation.
export const RTCPeerConnection = undefined
export const RTCSessionDescription = undefined
export const RTCIceCandidate = undefined
export const RTCIceTransport = undefined
export const RTCDataChannel = undefined
export const RTCSctpTransport = undefined
export const RTCDtlsTransport = undefined
export const RTCCertificate = undefined
export default {}
