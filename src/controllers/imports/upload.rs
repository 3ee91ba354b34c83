//! Receiving an import's upload: the body as it is or compressed (gzip, deflate, br), decoded
//! a bounded piece at a time into a file on disk, bounded in size and in time.

use std::time::{Duration, Instant};

use actix_web::http::header;
use actix_web::{web, HttpRequest};
use brotli::enc::StandardAlloc;
use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;

use crate::error::{AppError, AppResult};
use crate::extract::BODY_READ_TIMEOUT;
use crate::service::imports as service;
use crate::state::AppState;

/// An upload accepted so far: its coding and size are ones the server takes. Its time runs
/// from here (`Pace`), a place in the queue being reserved before the body is read.
pub(super) struct Upload {
    pace: Pace,
    coding: Coding,
    limit: u64,
}

impl Upload {
    /// Refuses, before anything is read, a body the server would not take: a form, an
    /// unknown coding, or a declared size over the limit.
    pub(super) fn begin(req: &HttpRequest, state: &AppState) -> AppResult<Upload> {
        let pace = Pace::new(state.config.import_upload);
        let coding = accepted_body(req)?;
        let limit = state.config.max_import_bytes;
        // The limit is on the file as read: only a body sent as it is says its size up front.
        if coding == Coding::Identity && declared_length(req).is_some_and(|n| n > limit) {
            return Err(AppError::PayloadTooLarge {
                limit: limit as usize,
            });
        }
        Ok(Upload {
            pace,
            coding,
            limit,
        })
    }

    /// Reads the body into a file of its own, decoded: the file and its size.
    pub(super) async fn receive(
        self,
        payload: &mut web::Payload,
    ) -> AppResult<(tempfile::TempPath, u64)> {
        let Upload {
            mut pace,
            coding,
            limit,
        } = self;
        let spool = tempfile::Builder::new()
            .prefix(&service::spool_prefix())
            .tempfile()
            .map_err(|e| AppError::Internal(format!("cannot keep the import file: {e}")))?;
        let (file, path) = spool.into_parts();
        let mut sink = Spool {
            file: tokio::fs::File::from_std(file),
            bytes: 0,
            limit,
        };
        // A compressed file is kept decompressed: the limit is on what is read, not what is sent.
        // Every coding is decoded here, a bounded piece at a time, so that what one chunk of the
        // body inflates to never sits whole in memory (actix's decoders hold it all: a 1.6 kB
        // brotli body inflated to 1 GiB in one piece). gzip: every member of it (files joined with
        // `cat`, pigz and bgzip write several; actix's decoder stops after the first).
        let mut gunzip =
            (coding == Coding::Gzip).then(|| flate2::write::MultiGzDecoder::new(Vec::new()));
        let mut inflate = match coding {
            Coding::Deflate => Some(Inflate::zlib()),
            Coding::Brotli => Some(Inflate::brotli()),
            Coding::Identity | Coding::Gzip => None,
        };
        // The caller holds a place in the queue meanwhile (until the job ends): the upload is
        // bounded in time as well as in size, or a client trickling a byte now and then would
        // hold it for ever.
        loop {
            let Some(chunk) = pace.next(payload).await? else {
                break;
            };
            let chunk = chunk.map_err(unreadable)?;
            if let Some(inflate) = &mut inflate {
                inflate.feed(&chunk, &mut sink).await?;
                continue;
            }
            match &mut gunzip {
                None => sink.write(&chunk).await?,
                // A slice at a time, so that what one slice inflates to stays small (deflate
                // inflates at most about 1,000 times).
                Some(decoder) => {
                    for slice in chunk.chunks(4096) {
                        std::io::Write::write_all(decoder, slice)
                            .map_err(|e| corrupt_gzip(e, sink.bytes))?;
                        sink.write(decoder.get_ref()).await?;
                        decoder.get_mut().clear();
                    }
                }
            }
        }
        if let Some(decoder) = gunzip {
            let rest = decoder.finish().map_err(|e| corrupt_gzip(e, sink.bytes))?;
            sink.write(&rest).await?;
        }
        if let Some(inflate) = &inflate {
            if pace.received > 0 && !inflate.done {
                return Err(inflate.cut_short(sink.bytes));
            }
        }
        let Spool {
            mut file, bytes, ..
        } = sink;
        file.flush()
            .await
            .map_err(|e| AppError::Internal(format!("cannot keep the import file: {e}")))?;
        drop(file);
        if bytes == 0 {
            return Err(AppError::BadRequest {
                detail: "the request body is empty; send the file to import".into(),
                errors: Vec::new(),
            });
        }
        Ok((path, bytes))
    }
}

/// The bounds on the time of an upload (`state::ImportUpload`): a deadline for the whole
/// upload, at most `BODY_READ_TIMEOUT` without data, and a least average rate of the body as
/// sent. The rate counts only the time spent waiting for the body, so that the server's own
/// decoding and writing (a highly compressed body holds the reading back) is not laid at the
/// client's door.
struct Pace {
    bounds: crate::state::ImportUpload,
    started: Instant,
    /// Time spent waiting for the body.
    waited: Duration,
    /// Bytes of the body received, as sent.
    received: u64,
}

impl Pace {
    fn new(bounds: crate::state::ImportUpload) -> Self {
        Pace {
            bounds,
            started: Instant::now(),
            waited: Duration::ZERO,
            received: 0,
        }
    }

    /// The next chunk of the body, if it comes within the bounds.
    async fn next(
        &mut self,
        payload: &mut web::Payload,
    ) -> AppResult<Option<Result<web::Bytes, actix_web::error::PayloadError>>> {
        let now = Instant::now();
        let left = self
            .bounds
            .deadline
            .saturating_sub(now.duration_since(self.started));
        if left.is_zero() {
            return Err(self.too_long());
        }
        // The waiting time by which more must have come to keep up the pace. A chunk already
        // there is taken even when it is late: it moves the pace on.
        let behind = match self.bounds.min_rate {
            0 => Duration::MAX,
            rate => (self.bounds.grace
                + Duration::from_secs_f64(self.received as f64 / rate as f64))
            .saturating_sub(self.waited),
        };
        let wait = BODY_READ_TIMEOUT.min(left).min(behind);
        let chunk = tokio::time::timeout(wait, payload.next()).await;
        self.waited += now.elapsed();
        match chunk {
            Ok(chunk) => {
                if let Some(Ok(bytes)) = &chunk {
                    self.received += bytes.len() as u64;
                }
                Ok(chunk)
            }
            Err(_) if wait == left => Err(self.too_long()),
            Err(_) if wait == behind => Err(self.too_slow()),
            Err(_) => Err(AppError::RequestTimeout {
                seconds: BODY_READ_TIMEOUT.as_secs(),
            }),
        }
    }

    fn too_long(&self) -> AppError {
        upload_too_long(&self.bounds, self.received)
    }

    fn too_slow(&self) -> AppError {
        upload_too_slow(&self.bounds, self.received, self.waited)
    }
}

/// The 408 of an upload that outlasted `bounds.deadline`, `received` bytes into it.
pub fn upload_too_long(bounds: &crate::state::ImportUpload, received: u64) -> AppError {
    AppError::UploadTooSlow(format!(
        "the upload took longer than {}, the most an import upload may take ({received} bytes \
         had arrived); send the file compressed (gzip), in parts, or import it with `riposte \
         import` where the database is reachable",
        humantime::format_duration(bounds.deadline),
    ))
}

/// The 408 of an upload that fell behind `bounds.min_rate`: `received` bytes in `waited`.
pub fn upload_too_slow(
    bounds: &crate::state::ImportUpload,
    received: u64,
    waited: Duration,
) -> AppError {
    let rate = bounds.min_rate;
    let rate = if rate.is_multiple_of(1024) {
        format!("{} KiB/s", rate / 1024)
    } else {
        format!("{rate} bytes/s")
    };
    AppError::UploadTooSlow(format!(
        "the upload arrived more slowly than {rate} on average, the least an import upload must \
         keep up after its first {} ({received} bytes in {} s); send it over a faster link, \
         compressed (gzip), or import it with `riposte import` where the database is reachable",
        humantime::format_duration(bounds.grace),
        waited.as_secs()
    ))
}

/// The upload file, bounded by the import limit.
struct Spool {
    file: tokio::fs::File,
    bytes: u64,
    limit: u64,
}

impl Spool {
    async fn write(&mut self, data: &[u8]) -> AppResult<()> {
        self.bytes += data.len() as u64;
        if self.bytes > self.limit {
            return Err(AppError::PayloadTooLarge {
                limit: self.limit as usize,
            });
        }
        self.file
            .write_all(data)
            .await
            .map_err(|e| AppError::Internal(format!("cannot keep the import file: {e}")))
    }
}

fn declared_length(req: &HttpRequest) -> Option<u64> {
    req.headers()
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

fn unreadable(e: actix_web::error::PayloadError) -> AppError {
    use actix_web::error::PayloadError;
    let detail = match e {
        PayloadError::Incomplete(None) => "the request body ended before all of it arrived \
            (shorter than its Content-Length, or its last chunk missing); send the whole file"
            .to_string(),
        other => format!("the request body could not be read: {other}"),
    };
    AppError::BadRequest {
        detail,
        errors: Vec::new(),
    }
}

/// A gzip body that does not inflate; `inflated` bytes came out of it before the fault.
fn corrupt_gzip(e: std::io::Error, inflated: u64) -> AppError {
    let eof = matches!(
        e.kind(),
        std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::WriteZero
    );
    let detail = match (eof, inflated) {
        (true, 0) => "the body ends before a gzip member does: it was cut short, or is not \
                      gzip"
            .to_string(),
        (true, _) => "the gzip body ends in the middle of a member (the file was cut short) or \
                      goes on after its last member with a few bytes that are not gzip \
                      (padding?)"
            .to_string(),
        (false, 0) => {
            format!("the body is not valid gzip ({e}); send it as it is, or gzip it whole")
        }
        (false, _) => format!(
            "the gzip body goes on after its last whole member with bytes that are not gzip \
             ({e}; padding?); compress the file again, or send it as it is"
        ),
    };
    AppError::BadRequest {
        detail,
        errors: Vec::new(),
    }
}

/// What one step of `Inflate` writes at most, whatever the input inflates to.
const INFLATE_STEP: usize = 64 * 1024;

type BrotliState = brotli::BrotliState<StandardAlloc, StandardAlloc, StandardAlloc>;

/// A `deflate` or `br` body, decoded a bounded step at a time: each step writes at most
/// `INFLATE_STEP` bytes to the spool, which checks the limit before storing them. One byte of
/// brotli can stand for megabytes, so feeding the input in small slices (as for gzip) would
/// not bound what comes out; asking for a bounded output does. The decoder itself holds at
/// most its window: 32 KiB for deflate, 16 MiB for brotli.
struct Inflate {
    decoder: Decoder,
    out: Vec<u8>,
    /// The compressed stream has ended: any byte after it is a fault.
    done: bool,
}

enum Decoder {
    Zlib(Box<flate2::Decompress>),
    Brotli(Box<BrotliState>),
}

impl Inflate {
    fn zlib() -> Self {
        Self::new(Decoder::Zlib(Box::new(flate2::Decompress::new(true))))
    }

    /// Brotli as RFC 7932 defines it: without the large-window extension (windows up to
    /// 1 GiB, which `BrotliState::new` accepts), that no HTTP client sends.
    fn brotli() -> Self {
        let state = BrotliState::new_strict(
            StandardAlloc::default(),
            StandardAlloc::default(),
            StandardAlloc::default(),
        );
        Self::new(Decoder::Brotli(Box::new(state)))
    }

    fn new(decoder: Decoder) -> Self {
        Inflate {
            decoder,
            out: vec![0; INFLATE_STEP],
            done: false,
        }
    }

    fn name(&self) -> &'static str {
        match self.decoder {
            Decoder::Zlib(_) => "deflate (zlib)",
            Decoder::Brotli(_) => "br (brotli)",
        }
    }

    /// Decodes a chunk of the body into `sink`, a step at a time.
    async fn feed(&mut self, mut input: &[u8], sink: &mut Spool) -> AppResult<()> {
        while !input.is_empty() {
            if self.done {
                return Err(self.trailing(sink.bytes));
            }
            let (used, made) = self.step(input).map_err(|e| self.corrupt(&e, sink.bytes))?;
            input = &input[used..];
            sink.write(&self.out[..made]).await?;
            // A step moves when it takes input or gives output: a decoder may first hand back
            // output it held (up to its window) without taking any of a new chunk.
            if used == 0 && made == 0 && !self.done {
                return Err(self.corrupt("the decoder made no progress", sink.bytes));
            }
        }
        // The last step may have filled the buffer with output still held back.
        while !self.done {
            let (_, made) = self.step(&[]).map_err(|e| self.corrupt(&e, sink.bytes))?;
            sink.write(&self.out[..made]).await?;
            if made < self.out.len() {
                break;
            }
        }
        Ok(())
    }

    /// One step: (bytes of `input` used, bytes written to `out`); sets `done` at the end of
    /// the stream.
    fn step(&mut self, input: &[u8]) -> Result<(usize, usize), String> {
        match &mut self.decoder {
            Decoder::Zlib(zlib) => {
                let (read, written) = (zlib.total_in(), zlib.total_out());
                let status = zlib
                    .decompress(input, &mut self.out, flate2::FlushDecompress::None)
                    .map_err(|e| e.to_string())?;
                self.done = status == flate2::Status::StreamEnd;
                Ok((
                    (zlib.total_in() - read) as usize,
                    (zlib.total_out() - written) as usize,
                ))
            }
            Decoder::Brotli(state) => {
                let (mut available_in, mut input_offset) = (input.len(), 0);
                let (mut available_out, mut output_offset) = (self.out.len(), 0);
                let mut total_out = 0;
                let result = brotli::BrotliDecompressStream(
                    &mut available_in,
                    &mut input_offset,
                    input,
                    &mut available_out,
                    &mut output_offset,
                    &mut self.out,
                    &mut total_out,
                    state,
                );
                match result {
                    brotli::BrotliResult::ResultFailure => {
                        let code = format!("{:?}", state.error_code);
                        let code = code.trim_start_matches("BROTLI_DECODER_ERROR_");
                        Err(format!("decoder error {code}"))
                    }
                    brotli::BrotliResult::ResultSuccess => {
                        self.done = true;
                        Ok((input_offset, output_offset))
                    }
                    _ => Ok((input_offset, output_offset)),
                }
            }
        }
    }

    fn corrupt(&self, what: &str, inflated: u64) -> AppError {
        let name = self.name();
        AppError::BadRequest {
            detail: format!(
                "the body is not valid {name} data ({what}, after {inflated} bytes decoded); \
                 compress the file again, or send it as it is"
            ),
            errors: Vec::new(),
        }
    }

    fn trailing(&self, inflated: u64) -> AppError {
        let name = self.name();
        AppError::BadRequest {
            detail: format!(
                "the {name} body goes on after the end of its compressed stream (which held \
                 {inflated} bytes); compress the file again, or send it as it is"
            ),
            errors: Vec::new(),
        }
    }

    fn cut_short(&self, inflated: u64) -> AppError {
        let name = self.name();
        AppError::BadRequest {
            detail: format!(
                "the {name} body ends before its compressed stream does (after {inflated} bytes \
                 decoded): it was cut short, or is not {name}"
            ),
            errors: Vec::new(),
        }
    }
}

/// How an upload's body is coded, as far as reading it goes.
#[derive(Clone, Copy, PartialEq)]
enum Coding {
    Identity,
    /// `gzip` or `x-gzip` (which RFC 9110 says to read as gzip).
    Gzip,
    /// `deflate`: the zlib format (RFC 9110).
    Deflate,
    /// `br`: brotli (RFC 7932).
    Brotli,
}

/// The body must be the file itself, as it is or compressed in a way the server reads: a
/// form (`curl -F`) or an unknown encoding would be read as lines of the file.
fn accepted_body(req: &HttpRequest) -> AppResult<Coding> {
    let mut coding = Coding::Identity;
    if let Some(value) = req.headers().get(header::CONTENT_ENCODING) {
        let encoding = String::from_utf8_lossy(value.as_bytes()).trim().to_string();
        let is = |names: &[&str]| names.iter().any(|e| encoding.eq_ignore_ascii_case(e));
        coding = if is(&["identity"]) {
            Coding::Identity
        } else if is(&["gzip", "x-gzip"]) {
            Coding::Gzip
        } else if is(&["deflate"]) {
            Coding::Deflate
        } else if is(&["br"]) {
            Coding::Brotli
        } else {
            return Err(AppError::UnsupportedMediaType(format!(
                "Content-Encoding `{encoding}` is not one riposte reads: send the file as it \
                 is, or compressed with gzip, deflate or br (one of them)"
            )));
        };
    }
    if let Some(value) = req.headers().get(header::CONTENT_TYPE) {
        let text = String::from_utf8_lossy(value.as_bytes()).to_ascii_lowercase();
        let essence = text.split(';').next().unwrap_or("").trim();
        let kind = essence.split('/').next().unwrap_or("");
        if [
            "multipart",
            "image",
            "audio",
            "video",
            "font",
            "model",
            "message",
        ]
        .contains(&kind)
        {
            return Err(AppError::UnsupportedMediaType(format!(
                "Content-Type `{essence}`: the body must be the file itself (`curl \
                 --data-binary @FILE`, `Content-Type: application/x-ndjson`), not a form or \
                 a(n) {kind} document"
            )));
        }
    }
    Ok(coding)
}
