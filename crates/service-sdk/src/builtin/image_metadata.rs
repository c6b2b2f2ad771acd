//! `image_metadata_extractor`: format, real dimensions, colour type and EXIF fields, read from
//! the image's own bytes (the `image` crate's decoders read the header; `kamadak-exif` reads
//! EXIF). Nothing is guessed from the file size or name.

use std::io::Cursor;

use async_trait::async_trait;
use image::{ColorType, ImageDecoder, ImageFormat, ImageReader, Limits};
use serde::Serialize;

use crate::{
    InputError, InputKind, Service, ServiceDescriptor, ServiceError, ServiceInput, ServiceOutput,
};

const ACCEPTED: [&str; 4] = ["image/jpeg", "image/png", "image/gif", "image/webp"];
const MAX_BYTES: usize = 10 * 1024 * 1024;

/// What the bytes say about an image.
#[derive(Clone, PartialEq, Debug, Serialize)]
pub struct ImageMetadata {
    /// The format the bytes are in (not the one the upload declared).
    pub format: String,
    /// In pixels.
    pub width: u32,
    /// In pixels.
    pub height: u32,
    /// Width times height in millions, to two decimals.
    pub megapixels: f64,
    /// The colour model: "greyscale", "RGB", each "with alpha", or "other".
    pub color_type: String,
    /// Bits per pixel, all channels together.
    pub bits_per_pixel: u16,
    /// Whether the image has an alpha (transparency) channel.
    pub has_alpha: bool,
    /// The file's size.
    pub size_bytes: usize,
    /// EXIF fields by name, in the file's order (camera, date, exposure, GPS ...).
    pub exif: Vec<(String, String)>,
}

/// Why bytes could not be read as an image.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct NotAnImage(String);

fn format_name(format: ImageFormat) -> &'static str {
    match format {
        ImageFormat::Jpeg => "JPEG",
        ImageFormat::Png => "PNG",
        ImageFormat::Gif => "GIF",
        ImageFormat::WebP => "WebP",
        _ => "other",
    }
}

fn color_name(color: ColorType) -> &'static str {
    match color {
        ColorType::L8 | ColorType::L16 => "greyscale",
        ColorType::La8 | ColorType::La16 => "greyscale with alpha",
        ColorType::Rgb8 | ColorType::Rgb16 | ColorType::Rgb32F => "RGB",
        ColorType::Rgba8 | ColorType::Rgba16 | ColorType::Rgba32F => "RGB with alpha",
        _ => "other",
    }
}

/// Reads the metadata of an image.
pub fn read_metadata(bytes: &[u8]) -> Result<ImageMetadata, NotAnImage> {
    let reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| NotAnImage(format!("the file could not be read: {e}")))?;
    let format = reader
        .format()
        .filter(|f| {
            matches!(
                f,
                ImageFormat::Jpeg | ImageFormat::Png | ImageFormat::Gif | ImageFormat::WebP
            )
        })
        .ok_or_else(|| NotAnImage("this is not a JPEG, PNG, GIF or WebP image".into()))?;
    let mut reader = reader;
    let mut limits = Limits::default();
    limits.max_image_width = Some(40_000);
    limits.max_image_height = Some(40_000);
    limits.max_alloc = Some(64 * 1024 * 1024);
    reader.limits(limits);
    let decoder = reader
        .into_decoder()
        .map_err(|e| NotAnImage(format!("the {} data is damaged: {e}", format_name(format))))?;
    let (width, height) = decoder.dimensions();
    let color = decoder.color_type();
    let exif = read_exif(bytes);
    Ok(ImageMetadata {
        format: format_name(format).to_owned(),
        width,
        height,
        megapixels: ((f64::from(width) * f64::from(height)) / 10_000.0).round() / 100.0,
        color_type: color_name(color).to_owned(),
        bits_per_pixel: color.bits_per_pixel(),
        has_alpha: color.has_alpha(),
        size_bytes: bytes.len(),
        exif,
    })
}

fn read_exif(bytes: &[u8]) -> Vec<(String, String)> {
    let Ok(exif) = exif::Reader::new().read_from_container(&mut Cursor::new(bytes)) else {
        return Vec::new();
    };
    exif.fields()
        .filter(|f| f.ifd_num == exif::In::PRIMARY)
        .filter(|f| {
            !matches!(
                f.tag,
                exif::Tag::MakerNote | exif::Tag::UserComment | exif::Tag::ExifVersion
            )
        })
        .take(40)
        .map(|f| {
            let value = f.display_value().with_unit(&exif).to_string();
            (
                f.tag.to_string(),
                value.trim_matches('"').chars().take(200).collect(),
            )
        })
        .collect()
}

/// Metadata of an uploaded image, for two credits.
#[derive(Debug, Clone, Copy, Default)]
pub struct ImageMetadataExtractor;

#[async_trait]
impl Service for ImageMetadataExtractor {
    fn descriptor(&self) -> ServiceDescriptor {
        ServiceDescriptor::new("image_metadata_extractor", "Image metadata")
            .description("Reads an image's format, real dimensions, colour type and EXIF fields (camera, date, exposure, GPS) from its bytes.")
            .category("Images")
            .cost(quickscale_domain_credits::Credits::whole(2))
            .input(InputKind::File)
            .accepts(&ACCEPTED)
            .max_input_bytes(MAX_BYTES)
    }

    fn validate(&self, input: &ServiceInput) -> Result<(), InputError> {
        match input {
            ServiceInput::File(file) => read_metadata(&file.bytes)
                .map(|_| ())
                .map_err(|e| InputError::Invalid(e.to_string())),
            _ => Err(InputError::WrongKind {
                expected: "an image file",
            }),
        }
    }

    async fn execute(&self, input: ServiceInput) -> Result<ServiceOutput, ServiceError> {
        let ServiceInput::File(file) = input else {
            return Err(ServiceError::Input(InputError::WrongKind {
                expected: "an image file",
            }));
        };
        let meta = read_metadata(&file.bytes)
            .map_err(|e| ServiceError::Input(InputError::Invalid(e.to_string())))?;
        let data =
            serde_json::to_value(&meta).map_err(|e| ServiceError::Internal(e.to_string()))?;
        let rows = meta
            .exif
            .iter()
            .map(|(k, v)| vec![k.clone(), v.clone()])
            .collect();
        let summary = format!(
            "{} image, {} × {} pixels, {}",
            meta.format, meta.width, meta.height, meta.color_type
        );
        Ok(ServiceOutput::new(summary)
            .field("Format", &meta.format)
            .field(
                "Dimensions",
                format!(
                    "{} × {} px ({} MP)",
                    meta.width, meta.height, meta.megapixels
                ),
            )
            .field(
                "Colour",
                format!(
                    "{} ({} bits per pixel)",
                    meta.color_type, meta.bits_per_pixel
                ),
            )
            .field("Transparency", if meta.has_alpha { "yes" } else { "no" })
            .field("File size", format!("{} bytes", meta.size_bytes))
            .field("EXIF fields", meta.exif.len())
            .table(&["EXIF field", "Value"], rows)
            .data(data))
    }
}
