//! The pickle opcodes, each with its byte and its `pickletools` name, in one table.

/// Defines [`Opcode`] from rows `Variant = byte => "NAME"`.
macro_rules! opcodes {
    ($($variant:ident = $byte:expr => $name:literal,)*) => {
        /// A pickle opcode (protocols 0 to 5). The reader interprets the ones `torch.save`
        /// writes and refuses the rest by name.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        #[allow(clippy::upper_case_acronyms)]
        pub(crate) enum Opcode {
            $(
                #[doc = $name]
                $variant,
            )*
        }

        impl Opcode {
            /// The opcode of byte `b`, if it is one.
            pub(crate) fn from_byte(b: u8) -> Option<Opcode> {
                match b {
                    $($byte => Some(Opcode::$variant),)*
                    _ => None,
                }
            }

            /// Its name in Python's `pickletools`.
            pub(crate) fn name(self) -> &'static str {
                match self {
                    $(Opcode::$variant => $name,)*
                }
            }
        }
    };
}

opcodes! {
    Mark = b'(' => "MARK",
    Stop = b'.' => "STOP",
    Pop = b'0' => "POP",
    PopMark = b'1' => "POP_MARK",
    Dup = b'2' => "DUP",
    Float = b'F' => "FLOAT",
    Int = b'I' => "INT",
    Binint = b'J' => "BININT",
    Binint1 = b'K' => "BININT1",
    Long = b'L' => "LONG",
    Binint2 = b'M' => "BININT2",
    None = b'N' => "NONE",
    Persid = b'P' => "PERSID",
    Binpersid = b'Q' => "BINPERSID",
    Reduce = b'R' => "REDUCE",
    String = b'S' => "STRING",
    Binstring = b'T' => "BINSTRING",
    ShortBinstring = b'U' => "SHORT_BINSTRING",
    Unicode = b'V' => "UNICODE",
    Binunicode = b'X' => "BINUNICODE",
    Append = b'a' => "APPEND",
    Build = b'b' => "BUILD",
    Global = b'c' => "GLOBAL",
    Dict = b'd' => "DICT",
    EmptyDict = b'}' => "EMPTY_DICT",
    Appends = b'e' => "APPENDS",
    Get = b'g' => "GET",
    Binget = b'h' => "BINGET",
    Inst = b'i' => "INST",
    LongBinget = b'j' => "LONG_BINGET",
    List = b'l' => "LIST",
    EmptyList = b']' => "EMPTY_LIST",
    Obj = b'o' => "OBJ",
    Put = b'p' => "PUT",
    Binput = b'q' => "BINPUT",
    LongBinput = b'r' => "LONG_BINPUT",
    Setitem = b's' => "SETITEM",
    Tuple = b't' => "TUPLE",
    EmptyTuple = b')' => "EMPTY_TUPLE",
    Setitems = b'u' => "SETITEMS",
    Binfloat = b'G' => "BINFLOAT",
    Binbytes = b'B' => "BINBYTES",
    ShortBinbytes = b'C' => "SHORT_BINBYTES",
    Proto = 0x80 => "PROTO",
    Newobj = 0x81 => "NEWOBJ",
    Ext1 = 0x82 => "EXT1",
    Ext2 = 0x83 => "EXT2",
    Ext4 = 0x84 => "EXT4",
    Tuple1 = 0x85 => "TUPLE1",
    Tuple2 = 0x86 => "TUPLE2",
    Tuple3 = 0x87 => "TUPLE3",
    Newtrue = 0x88 => "NEWTRUE",
    Newfalse = 0x89 => "NEWFALSE",
    Long1 = 0x8a => "LONG1",
    Long4 = 0x8b => "LONG4",
    ShortBinunicode = 0x8c => "SHORT_BINUNICODE",
    Binunicode8 = 0x8d => "BINUNICODE8",
    Binbytes8 = 0x8e => "BINBYTES8",
    EmptySet = 0x8f => "EMPTY_SET",
    Additems = 0x90 => "ADDITEMS",
    Frozenset = 0x91 => "FROZENSET",
    NewobjEx = 0x92 => "NEWOBJ_EX",
    StackGlobal = 0x93 => "STACK_GLOBAL",
    Memoize = 0x94 => "MEMOIZE",
    Frame = 0x95 => "FRAME",
    Bytearray8 = 0x96 => "BYTEARRAY8",
    NextBuffer = 0x97 => "NEXT_BUFFER",
    ReadonlyBuffer = 0x98 => "READONLY_BUFFER",
}

/// The `pickletools` name of byte `b`, or "unknown opcode".
pub(crate) fn opcode_name(b: u8) -> &'static str {
    Opcode::from_byte(b).map_or("unknown opcode", Opcode::name)
}
