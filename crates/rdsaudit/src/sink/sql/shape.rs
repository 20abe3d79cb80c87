//! What the flattening walk of a statement learns about its code (the bytes outside strings,
//! quoted identifiers and comments, `/*! */` executable comments included): whether the
//! `mysql` client would cut it at a `;`, whether it holds prepared-statement placeholders, and
//! whether it makes the client upload a local file. See the module docs of `sink::sql`.

/// The longest keyword the walk looks for (`LOW_PRIORITY`).
const LONGEST: usize = 12;

/// What is known of a statement's code once it has been walked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Shape {
    /// A `;` is followed by more code: `BEGIN ... ; ... END`, `SELECT 1; SELECT 2`.
    pub inner_semicolon: bool,
    /// A `?` placeholder: a prepared statement logged without its parameters.
    pub placeholder: bool,
    /// `LOAD DATA|XML [LOW_PRIORITY|CONCURRENT] LOCAL`: replayed, the client sends its own file.
    pub local_infile: bool,
}

/// The last keywords of `LOAD DATA|XML [LOW_PRIORITY|CONCURRENT] LOCAL`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum Keyword {
    #[default]
    Idle,
    Load,
    Data,
    Modifier,
}

/// The walk's state (see [`Shape`]).
#[derive(Debug, Clone, Default)]
pub(super) struct Walk {
    shape: Shape,
    after_semicolon: bool,
    load: Keyword,
    word: [u8; LONGEST],
    /// Bytes of the current word (more than [`LONGEST`]: no keyword).
    len: usize,
}

impl Walk {
    /// A byte of code.
    pub fn code(&mut self, b: u8) {
        if b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80 {
            if let Some(slot) = self.word.get_mut(self.len) {
                *slot = b.to_ascii_uppercase();
            }
            self.len = self.len.saturating_add(1);
            self.note_code();
            return;
        }
        self.end_word();
        if b.is_ascii_whitespace() {
            return;
        }
        self.note_code();
        self.load = Keyword::Idle;
        match b {
            b';' => self.after_semicolon = true,
            b'?' => self.shape.placeholder = true,
            _ => {}
        }
    }

    /// A string literal or quoted identifier, copied up to `next`: code, and no keyword.
    /// Returns `next`.
    pub fn token(&mut self, next: usize) -> usize {
        self.end_word();
        self.note_code();
        self.load = Keyword::Idle;
        next
    }

    /// A comment or a line break, copied up to `next`: it ends a word and nothing else.
    /// Returns `next`.
    pub fn gap(&mut self, next: usize) -> usize {
        self.end_word();
        next
    }

    /// The shape of the whole statement.
    pub fn finish(mut self) -> Shape {
        self.end_word();
        self.shape
    }

    fn note_code(&mut self) {
        if self.after_semicolon {
            self.shape.inner_semicolon = true;
        }
    }

    fn end_word(&mut self) {
        if self.len == 0 {
            return;
        }
        let word = self.word.get(..self.len).unwrap_or_default();
        self.load = match (self.load, word) {
            (_, b"LOAD") => Keyword::Load,
            (Keyword::Load, b"DATA" | b"XML") => Keyword::Data,
            (Keyword::Data, b"LOW_PRIORITY" | b"CONCURRENT") => Keyword::Modifier,
            (Keyword::Data | Keyword::Modifier, b"LOCAL") => {
                self.shape.local_infile = true;
                Keyword::Idle
            }
            _ => Keyword::Idle,
        };
        self.len = 0;
    }
}
