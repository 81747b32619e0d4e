#!/usr/bin/env python3
"""A headless PJSIP 2.15 agent (PyPI `pjsua2-python`) for the bench.

caller: calls TARGET, plays FILE into the call once media is up, hangs up when
        it has played (or after --secs).
callee: answers every call and records what it hears to FILE.

Prints JSON lines: {"event": "media_started", "mic_start"|"speaker_start": t}
and {"event": "ended"}. The sound device is PJSIP's null device, so the file
player and recorder are paced by PJSIP's own conference clock, as a device
would pace them.
"""
import argparse
import json
import os
import sys
import time

import pjsua2 as pj


def say(**kw):
    print(json.dumps(kw), flush=True)


class Call(pj.Call):
    def __init__(self, acc, args, call_id=pj.PJSUA_INVALID_ID):
        super().__init__(acc, call_id)
        self.args = args
        self.player = None
        self.recorder = None
        self.done = False
        self.media_at = None

    def onCallState(self, prm):
        if self.getInfo().state == pj.PJSIP_INV_STATE_DISCONNECTED:
            self.done = True
            say(event="ended")

    def onCallMediaState(self, prm):
        info = self.getInfo()
        for i, m in enumerate(info.media):
            if m.type != pj.PJMEDIA_TYPE_AUDIO or m.status != pj.PJSUA_CALL_MEDIA_ACTIVE:
                continue
            aud = self.getAudioMedia(i)
            if self.args.role == "caller" and self.player is None:
                self.player = pj.AudioMediaPlayer()
                self.player.createPlayer(self.args.file, pj.PJMEDIA_FILE_NO_LOOP)
                self.player.startTransmit(aud)
                self.media_at = time.time()
                say(event="media_started", mic_start=self.media_at)
            if self.args.role == "callee" and self.recorder is None:
                self.recorder = pj.AudioMediaRecorder()
                self.recorder.createRecorder(self.args.file)
                aud.startTransmit(self.recorder)
                say(event="media_started", speaker_start=time.time())


class Account(pj.Account):
    def __init__(self, args):
        super().__init__()
        self.args = args
        self.calls = []

    def onIncomingCall(self, prm):
        call = Call(self, self.args, prm.callId)
        self.calls.append(call)
        op = pj.CallOpParam()
        op.statusCode = 200
        call.answer(op)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("role", choices=["caller", "callee"])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--file", required=True)
    ap.add_argument("--target")
    ap.add_argument("--secs", type=float, default=12.0)
    ap.add_argument("--codec", default="PCMU/8000")
    args = ap.parse_args()

    ep = pj.Endpoint()
    ep.libCreate()
    cfg = pj.EpConfig()
    cfg.uaConfig.threadCnt = 0
    cfg.uaConfig.mainThreadOnly = True
    cfg.logConfig.level = 1
    cfg.logConfig.consoleLevel = 1
    cfg.medConfig.ecTailLen = 0
    cfg.medConfig.clockRate = 16000
    ep.libInit(cfg)
    tcfg = pj.TransportConfig()
    tcfg.port = args.port
    tcfg.boundAddress = "127.0.0.1"
    tcfg.publicAddress = "127.0.0.1"
    ep.transportCreate(pj.PJSIP_TRANSPORT_UDP, tcfg)
    ep.libStart()
    ep.audDevManager().setNullDev()
    for c in ep.codecEnum2():
        ep.codecSetPriority(c.codecId, 255 if c.codecId.startswith(args.codec) else 0)

    acfg = pj.AccountConfig()
    acfg.idUri = "sip:pjsua@127.0.0.1:%d" % args.port
    acfg.mediaConfig.transportConfig.boundAddress = "127.0.0.1"
    acc = Account(args)
    acc.create(acfg)

    call = None
    if args.role == "caller":
        call = Call(acc, args)
        call.makeCall(args.target, pj.CallOpParam(True))
        acc.calls.append(call)

    deadline = time.time() + args.secs + 10
    try:
        while time.time() < deadline:
            ep.libHandleEvents(10)
            if call is not None and call.media_at and time.time() > call.media_at + args.secs:
                op = pj.CallOpParam()
                call.hangup(op)
                call.media_at = None
            if call is not None and call.done:
                break
            if args.role == "callee" and any(c.done for c in acc.calls):
                # Let the recorder flush, then leave.
                for _ in range(20):
                    ep.libHandleEvents(10)
                break
    finally:
        # Close the recorder (writes the WAV header); keep the Call objects
        # alive past libDestroy, whose destructors would assert on dead ids.
        for c in acc.calls:
            c.recorder = None
            c.player = None
        ep.libDestroy()
        sys.stdout.flush()
        os._exit(0)


if __name__ == "__main__":
    main()
