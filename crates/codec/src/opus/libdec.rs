//! The libopus decoder, called directly: the `opus` crate has no way to set a
//! decoder's complexity, and complexity 5 and above is what switches on
//! libopus's deep PLC (a neural concealment of lost frames, built in through
//! `opusic-sys`'s `dred` feature). The only unsafe code of the crate is here,
//! each call with the reason it holds.
#![allow(unsafe_code)]

use opusic_sys as ffi;

/// One libopus decoder, 48 kHz mono.
pub(super) struct LibDecoder {
    /// Created by `opus_decoder_create`, never null, freed in `Drop` only.
    ptr: std::ptr::NonNull<ffi::OpusDecoder>,
}

// SAFETY: the decoder state is plain memory owned by this value alone; libopus
// keeps no thread-local or global state tied to it.
unsafe impl Send for LibDecoder {}

impl LibDecoder {
    /// A mono decoder at 48 kHz, or libopus's error code.
    pub(super) fn new() -> Result<LibDecoder, i32> {
        let mut error: core::ffi::c_int = 0;
        // SAFETY: `error` is a valid place for the status; 48 kHz mono is a
        // configuration libopus accepts.
        let raw = unsafe { ffi::opus_decoder_create(48_000, 1, &mut error) };
        match std::ptr::NonNull::new(raw) {
            Some(ptr) if error == ffi::OPUS_OK => Ok(LibDecoder { ptr }),
            Some(ptr) => {
                // SAFETY: created above and not used again.
                unsafe { ffi::opus_decoder_destroy(ptr.as_ptr()) };
                Err(error)
            }
            None => Err(error),
        }
    }

    /// Sets the decoder's complexity (0–10): 5 and above use deep PLC where
    /// libopus was built with it.
    pub(super) fn set_complexity(&mut self, complexity: i32) -> Result<(), i32> {
        // SAFETY: the pointer is live; OPUS_SET_COMPLEXITY takes one opus_int32.
        let r = unsafe {
            ffi::opus_decoder_ctl(
                self.ptr.as_ptr(),
                ffi::OPUS_SET_COMPLEXITY_REQUEST,
                complexity as ffi::opus_int32,
            )
        };
        if r == ffi::OPUS_OK { Ok(()) } else { Err(r) }
    }

    /// Decodes `packet` (empty: conceal; `fec`: rebuild the frame before it
    /// from its redundancy) into `out`; the samples written, or libopus's
    /// error code.
    pub(super) fn decode(
        &mut self,
        packet: &[u8],
        out: &mut [i16],
        fec: bool,
    ) -> Result<usize, i32> {
        let len = ffi::opus_int32::try_from(packet.len()).map_err(|_| ffi::OPUS_BAD_ARG)?;
        let room = core::ffi::c_int::try_from(out.len()).map_err(|_| ffi::OPUS_BAD_ARG)?;
        let data = if packet.is_empty() {
            std::ptr::null()
        } else {
            packet.as_ptr()
        };
        // SAFETY: the pointer is live; `data` is null (a loss) or `len`
        // readable bytes; `out` has room for `room` mono samples, the most
        // libopus writes.
        let n = unsafe {
            ffi::opus_decode(
                self.ptr.as_ptr(),
                data,
                len,
                out.as_mut_ptr(),
                room,
                core::ffi::c_int::from(fec),
            )
        };
        usize::try_from(n).map_err(|_| n)
    }
}

impl Drop for LibDecoder {
    fn drop(&mut self) {
        // SAFETY: created by opus_decoder_create and freed only here.
        unsafe { ffi::opus_decoder_destroy(self.ptr.as_ptr()) };
    }
}
