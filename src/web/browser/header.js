// The NHS design system's header measures its navigation and moves what does not fit into its
// "More" menu. Its stylesheet keeps the navigation on one line once the page says the script is
// supported (template.njk's nhsuk-frontend-supported class), so without this a phone's header
// runs off the screen. Only the header is started: the other components keep their plain forms.
import { initHeader } from "/assets/nhsuk-frontend.min.js";

initHeader();
