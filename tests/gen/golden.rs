//! One newtype per golden-vector value kind (tests/golden-vectors/primitives):
//! a newtype struct encodes as its field, so each decodes one vector.
pub struct GBool(bool);
pub struct GU8(u8);
pub struct GU16(u16);
pub struct GU32(u32);
pub struct GU64(u64);
pub struct GI8(i8);
pub struct GI16(i16);
pub struct GI32(i32);
pub struct GI64(i64);
pub struct GF32(f32);
pub struct GF64(f64);
pub struct GString(String);
pub struct GBytes(Vec<u8>);
pub struct GOptU32(Option<u32>);
pub struct GOptString(Option<String>);
pub struct GTupIS((i32, String));
pub struct GTupSI((String, i32));
pub struct GVecI32(Vec<i32>);
pub struct GVecU32(Vec<u32>);
pub struct GVecString(Vec<String>);
