//! Every form roam-gen accepts (tests/gen/test_gen_codec.c checks the
//! generated code against bytes written by hand).
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use roam::{Rx, Tx};

/// Every primitive.
pub struct Prims {
    pub b: bool,
    pub a: u8,
    pub c: u16,
    pub d: u32,
    pub e: u64,
    pub f: u128,
    pub g: i8,
    pub h: i16,
    pub i: i32,
    pub j: i64,
    pub k: i128,
    pub l: f32,
    pub m: f64,
    pub n: char,
    pub o: String,
    pub p: (),
    pub q: usize,
    pub r: isize,
}

/// Every container.
pub struct Containers {
    pub v: Vec<i32>,
    pub bytes: Vec<u8>,
    pub opt: Option<String>,
    pub none: Option<u32>,
    pub arr: [u16; 3],
    pub map: HashMap<String, u32>,
    pub bmap: BTreeMap<u8, Vec<String>>,
    pub set: HashSet<i64>,
    pub bset: BTreeSet<String>,
    pub tup: (i32, String),
    pub nested: Vec<Option<(u8, bool)>>,
    pub boxed: Box<Wrapper>,
}

/// A tuple struct, a unit struct and an empty struct.
pub struct Wrapper(pub u32, pub String);
pub struct Unit;
pub struct Empty {}

/// Unit, tuple, newtype and struct variants; discriminants do not matter.
#[repr(u8)]
pub enum Kinds {
    Nothing = 5,
    One(f32),
    Two(i8, u16),
    Named { x: i64, y: Unit },
    Hollow(),
}

/// Recursive through Vec and Option<Box<…>>, declared before use below.
pub struct Tree {
    pub value: i32,
    pub children: Vec<Tree>,
    pub parent: Option<Box<Tree>>,
}

/// Recursive through Box in variants.
pub enum Expr {
    Num(i64),
    Add(Box<Expr>, Box<Expr>),
    Neg(Box<Expr>),
    List(Vec<Expr>),
}

/// Names C does not accept as they are.
pub struct Keywords {
    pub int: u8,
    pub default: bool,
    pub r#struct: u16,
    pub roam_x: u8,
    pub _Bad: u8,
}

/// A variant whose member would be `tag`.
pub enum Tagged {
    Tag(u8),
    Other,
}

/// Collides with the name of Vec<Point>.
pub struct VecPoint {
    pub x: u8,
}

pub struct Point {
    pub x: i32,
    pub y: i32,
}

/// Elements that take no bytes at all.
pub struct ZeroSized {
    pub units: Vec<()>,
    pub empties: Vec<Unit>,
}

/// A service using the types above.
#[service]
pub trait First {
    /// Fails with a Kinds as its user error.
    async fn ping(&self, int: u32, roam_c: String) -> Result<Tree, Kinds>;
    fn points(&self, p: Vec<Point>) -> VecPoint;
    /// Takes the name ping's asynchronous stub would have.
    async fn ping_async(&self);
    async fn stream(&self, up: Rx<Expr>, down: Tx<String>) -> u64;
    async fn all(&self, p: Prims, c: Containers, k: Keywords, z: ZeroSized, t: Tagged) -> Empty;
}

/// A second service in the same file.
#[roam::service]
pub trait Second {
    async fn ping(&self);
    async fn eval(&self, e: Expr) -> Option<i64>;
    async fn boxed(&self, w: Box<Wrapper>) -> Result<(), String>;
    /// One input byte per element, 520 bytes of C each: decoding is capped.
    async fn big(&self, v: Vec<Big>) -> u32;
}

/// Small on the wire, large in C.
pub enum Big {
    Small,
    Large([u64; 64]),
}
