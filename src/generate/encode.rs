//! PostgreSQL's binary COPY format, written straight into a byte buffer.
//!
//! `tokio_postgres::binary_copy::BinaryCopyInWriter` writes the same format, but from
//! `&dyn ToSql` values on the task that owns the connection. Rows here are made on a
//! generator thread; encoding them there too leaves the connection task nothing to do but
//! forward finished buffers to `copy_in`, and spares an owned row per action crossing
//! threads. The layouts used (uuid, text, date, float8, int8, timestamptz, text[]) are the
//! ones `postgres-types` sends; the integration test reads every table back through the API.

use uuid::Uuid;

pub struct Encoder {
    pub buf: Vec<u8>,
}

/// Microseconds from the Unix epoch to PostgreSQL's (2000-01-01).
const PG_EPOCH_UNIX_MICROS: i64 = 946_684_800_000_000;
const TEXT_OID: i32 = 25;

impl Encoder {
    pub fn new(capacity: usize) -> Self {
        Encoder {
            buf: Vec::with_capacity(capacity),
        }
    }

    /// The signature, flags and header extension that open a binary COPY stream.
    pub fn header(&mut self) {
        self.buf.extend_from_slice(b"PGCOPY\n\xff\r\n\0");
        self.buf.extend_from_slice(&0i32.to_be_bytes());
        self.buf.extend_from_slice(&0i32.to_be_bytes());
    }

    /// The end-of-data marker.
    pub fn trailer(&mut self) {
        self.buf.extend_from_slice(&(-1i16).to_be_bytes());
    }

    pub fn row(&mut self, fields: i16) {
        self.buf.extend_from_slice(&fields.to_be_bytes());
    }

    pub fn null(&mut self) {
        self.buf.extend_from_slice(&(-1i32).to_be_bytes());
    }

    fn bytes(&mut self, b: &[u8]) {
        self.buf.extend_from_slice(&(b.len() as i32).to_be_bytes());
        self.buf.extend_from_slice(b);
    }

    pub fn uuid(&mut self, id: Uuid) {
        self.bytes(id.as_bytes());
    }

    pub fn opt_uuid(&mut self, id: Option<Uuid>) {
        match id {
            Some(id) => self.uuid(id),
            None => self.null(),
        }
    }

    pub fn text(&mut self, s: &str) {
        self.bytes(s.as_bytes());
    }

    pub fn opt_text(&mut self, s: Option<&str>) {
        match s {
            Some(s) => self.text(s),
            None => self.null(),
        }
    }

    /// A date as days since 2000-01-01.
    pub fn date(&mut self, day: i32) {
        self.bytes(&day.to_be_bytes());
    }

    pub fn opt_date(&mut self, day: Option<i32>) {
        match day {
            Some(d) => self.date(d),
            None => self.null(),
        }
    }

    pub fn f64(&mut self, x: f64) {
        self.bytes(&x.to_bits().to_be_bytes());
    }

    pub fn i32(&mut self, x: i32) {
        self.bytes(&x.to_be_bytes());
    }

    pub fn i64(&mut self, x: i64) {
        self.bytes(&x.to_be_bytes());
    }

    /// A timestamptz given as seconds since the Unix epoch.
    pub fn timestamp(&mut self, unix_seconds: i64) {
        self.i64(unix_seconds * 1_000_000 - PG_EPOCH_UNIX_MICROS);
    }

    /// A one-dimensional text[] without nulls (or an empty array).
    pub fn text_array(&mut self, items: &[&str]) {
        let mut body: Vec<u8> = Vec::with_capacity(20 + items.len() * 16);
        let dims: i32 = if items.is_empty() { 0 } else { 1 };
        body.extend_from_slice(&dims.to_be_bytes());
        body.extend_from_slice(&0i32.to_be_bytes()); // no nulls
        body.extend_from_slice(&TEXT_OID.to_be_bytes());
        if !items.is_empty() {
            body.extend_from_slice(&(items.len() as i32).to_be_bytes());
            body.extend_from_slice(&1i32.to_be_bytes()); // lower bound
            for item in items {
                body.extend_from_slice(&(item.len() as i32).to_be_bytes());
                body.extend_from_slice(item.as_bytes());
            }
        }
        self.bytes(&body);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts() {
        let mut e = Encoder::new(64);
        e.date(1);
        assert_eq!(e.buf, [0, 0, 0, 4, 0, 0, 0, 1]);
        let mut e = Encoder::new(64);
        e.timestamp(946_684_801);
        assert_eq!(e.buf[..4], [0, 0, 0, 8]);
        assert_eq!(
            i64::from_be_bytes(e.buf[4..].try_into().unwrap()),
            1_000_000
        );
        let mut e = Encoder::new(64);
        e.text_array(&["a"]);
        assert_eq!(
            e.buf,
            [
                0, 0, 0, 25, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 25, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0,
                1, b'a'
            ]
        );
    }
}
