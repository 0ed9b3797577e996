//! Element types of PyTorch storages.

/// Element type of a tensor read from a `.pth` file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DType {
    /// float32.
    F32,
    /// float64.
    F64,
    /// float16.
    F16,
    /// bfloat16.
    BF16,
    /// int64.
    I64,
    /// int32.
    I32,
    /// int16.
    I16,
    /// int8.
    I8,
    /// uint8.
    U8,
    /// bool.
    Bool,
}

impl DType {
    /// Bytes per element.
    pub fn size_bytes(self) -> usize {
        match self {
            DType::F64 | DType::I64 => 8,
            DType::F32 | DType::I32 => 4,
            DType::F16 | DType::BF16 | DType::I16 => 2,
            DType::I8 | DType::U8 | DType::Bool => 1,
        }
    }

    /// PyTorch's name (`float32`).
    pub fn name(self) -> &'static str {
        match self {
            DType::F32 => "float32",
            DType::F64 => "float64",
            DType::F16 => "float16",
            DType::BF16 => "bfloat16",
            DType::I64 => "int64",
            DType::I32 => "int32",
            DType::I16 => "int16",
            DType::I8 => "int8",
            DType::U8 => "uint8",
            DType::Bool => "bool",
        }
    }

    /// The type of a storage class (`torch.FloatStorage`).
    pub fn from_storage_class(global: &str) -> Option<DType> {
        Some(match global {
            "torch.FloatStorage" => DType::F32,
            "torch.DoubleStorage" => DType::F64,
            "torch.HalfStorage" => DType::F16,
            "torch.BFloat16Storage" => DType::BF16,
            "torch.LongStorage" => DType::I64,
            "torch.IntStorage" => DType::I32,
            "torch.ShortStorage" => DType::I16,
            "torch.CharStorage" => DType::I8,
            "torch.ByteStorage" => DType::U8,
            "torch.BoolStorage" => DType::Bool,
            _ => return None,
        })
    }

    /// The type of a dtype object (`torch.float32`).
    pub fn from_torch_dtype(global: &str) -> Option<DType> {
        Some(match global {
            "torch.float32" | "torch.float" => DType::F32,
            "torch.float64" | "torch.double" => DType::F64,
            "torch.float16" | "torch.half" => DType::F16,
            "torch.bfloat16" => DType::BF16,
            "torch.int64" | "torch.long" => DType::I64,
            "torch.int32" | "torch.int" => DType::I32,
            "torch.int16" | "torch.short" => DType::I16,
            "torch.int8" => DType::I8,
            "torch.uint8" => DType::U8,
            "torch.bool" => DType::Bool,
            _ => return None,
        })
    }

    /// The libtorch kind.
    pub fn kind(self) -> tch::Kind {
        match self {
            DType::F32 => tch::Kind::Float,
            DType::F64 => tch::Kind::Double,
            DType::F16 => tch::Kind::Half,
            DType::BF16 => tch::Kind::BFloat16,
            DType::I64 => tch::Kind::Int64,
            DType::I32 => tch::Kind::Int,
            DType::I16 => tch::Kind::Int16,
            DType::I8 => tch::Kind::Int8,
            DType::U8 => tch::Kind::Uint8,
            DType::Bool => tch::Kind::Bool,
        }
    }
}
