//! How the tree drawing sits in its frame: a zoom factor and an offset, so
//! a point of the drawing appears on screen at `point * scale + offset`.
//! Zooming, panning, fitting and revealing a node are plain arithmetic here.

/// The smallest and largest zoom factors.
pub const MIN_SCALE: f64 = 0.05;
pub const MAX_SCALE: f64 = 4.0;

/// A zoom factor and the screen position of the drawing's origin.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Viewport {
    pub scale: f64,
    pub x: f64,
    pub y: f64,
}

impl Default for Viewport {
    fn default() -> Self {
        Viewport {
            scale: 1.0,
            x: 0.0,
            y: 0.0,
        }
    }
}

impl Viewport {
    /// The drawing point under a screen point (relative to the frame).
    pub fn to_drawing(&self, screen: (f64, f64)) -> (f64, f64) {
        (
            (screen.0 - self.x) / self.scale,
            (screen.1 - self.y) / self.scale,
        )
    }

    /// Where a drawing point appears in the frame.
    pub fn to_screen(&self, point: (f64, f64)) -> (f64, f64) {
        (point.0 * self.scale + self.x, point.1 * self.scale + self.y)
    }

    /// Zoomed by `factor`, keeping the drawing point under `anchor` in place.
    pub fn zoomed(&self, factor: f64, anchor: (f64, f64)) -> Viewport {
        let scale = (self.scale * factor).clamp(MIN_SCALE, MAX_SCALE);
        let point = self.to_drawing(anchor);
        Viewport {
            scale,
            x: anchor.0 - point.0 * scale,
            y: anchor.1 - point.1 * scale,
        }
    }

    /// Moved by a screen distance.
    pub fn panned(&self, dx: f64, dy: f64) -> Viewport {
        Viewport {
            x: self.x + dx,
            y: self.y + dy,
            ..*self
        }
    }

    /// The whole drawing (`content` wide and high) centred in `frame`, never
    /// enlarged.
    pub fn fitting(content: (f64, f64), frame: (f64, f64)) -> Viewport {
        let scale = (frame.0 / content.0.max(1.0))
            .min(frame.1 / content.1.max(1.0))
            .clamp(MIN_SCALE, 1.0);
        Viewport {
            scale,
            x: (frame.0 - content.0 * scale) / 2.0,
            y: (frame.1 - content.1 * scale).max(0.0) / 2.0,
        }
    }

    /// Panned as little as needed for `point` to be at least `margin`
    /// pixels inside `frame`.
    pub fn revealing(&self, point: (f64, f64), frame: (f64, f64), margin: f64) -> Viewport {
        let (sx, sy) = self.to_screen(point);
        let shift = |at: f64, size: f64| {
            let margin = margin.min(size / 2.0);
            if at < margin {
                margin - at
            } else if at > size - margin {
                size - margin - at
            } else {
                0.0
            }
        };
        self.panned(shift(sx, frame.0), shift(sy, frame.1))
    }

    /// The SVG `transform` attribute that applies this viewport.
    pub fn transform(&self) -> String {
        format!(
            "translate({:.1} {:.1}) scale({:.4})",
            self.x, self.y, self.scale
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: (f64, f64), b: (f64, f64)) -> bool {
        (a.0 - b.0).abs() < 1e-9 && (a.1 - b.1).abs() < 1e-9
    }

    #[test]
    fn zooming_keeps_the_point_under_the_pointer() {
        let view = Viewport {
            scale: 1.5,
            x: 20.0,
            y: -40.0,
        };
        let anchor = (120.0, 80.0);
        let before = view.to_drawing(anchor);
        let zoomed = view.zoomed(2.0, anchor);
        assert_eq!(zoomed.scale, 3.0);
        assert!(close(zoomed.to_drawing(anchor), before));
        assert!(close(zoomed.to_screen(before), anchor));
    }

    #[test]
    fn zoom_stays_within_its_limits() {
        let view = Viewport::default();
        assert_eq!(view.zoomed(1000.0, (0.0, 0.0)).scale, MAX_SCALE);
        assert_eq!(view.zoomed(0.0001, (0.0, 0.0)).scale, MIN_SCALE);
    }

    #[test]
    fn fitting_shrinks_a_large_drawing_and_centres_it() {
        let view = Viewport::fitting((2000.0, 500.0), (400.0, 400.0));
        assert_eq!(view.scale, 0.2);
        assert_eq!((view.x, view.y), (0.0, 150.0));
        // A small drawing is not enlarged.
        assert_eq!(Viewport::fitting((100.0, 100.0), (400.0, 400.0)).scale, 1.0);
    }

    #[test]
    fn revealing_pans_only_as_far_as_needed() {
        let view = Viewport::default();
        let frame = (300.0, 200.0);
        assert_eq!(view.revealing((100.0, 100.0), frame, 20.0), view);
        let moved = view.revealing((500.0, 100.0), frame, 20.0);
        assert!(close(moved.to_screen((500.0, 100.0)), (280.0, 100.0)));
        let up = view.revealing((10.0, -50.0), frame, 20.0);
        assert!(close(up.to_screen((10.0, -50.0)), (20.0, 20.0)));
    }
}
